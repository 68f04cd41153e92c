/**
 * The gateway's hooks (EmbeddedBrokerOptions: promise- or value-returning) as aedes' callback hooks:
 * CONNECT refusals as MQTT 3.1.1 §3.2.2.3 return codes, $SYS/ reserved, oversize payloads
 * acknowledged and dropped, a failing hook answered as a refusal rather than a crash.
 */
import type { AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';
import type { EmbeddedBrokerOptions, EmbeddedBrokerStats } from './embedded-broker-options.js';

export const SYS_PREFIX = '$SYS/';

/** The part of aedes' persistence (in memory or on Redis) that holds inbound QoS 2 messages until PUBREL. */
interface IncomingPackets {
  incomingGetPacket(client: Client, packet: PublishPacket): Promise<unknown>;
}

export class AedesHooks {
  constructor(
    private readonly opts: EmbeddedBrokerOptions,
    private readonly stats: EmbeddedBrokerStats,
    /** Runs a gateway callback, counting and logging what it throws. */
    private readonly safe: (fn: () => void) => void,
    /**
     * A client's PUBLISH (or will) was allowed: called before aedes writes the PUBACK, so a QoS 1
     * message can be made durable first (the broker thread's intake log).
     */
    private readonly accepted: (client: Client, packet: PublishPacket) => void,
  ) {}

  authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const hook = this.opts.authenticate;
    if (!hook) {
      done(null, true);
      return;
    }
    hook(client, username, password).then(
      (res) => {
        if (res === true) return done(null, true);
        const code = res === false ? 4 : res.code;
        done(Object.assign(new Error('connection refused'), { returnCode: code }) as AuthenticateError, null);
      },
      (err: unknown) => {
        this.opts.logger.error({ err, clientId: client.id }, 'mqtt authenticate hook failed');
        // 3 = server unavailable: the refusal is ours, not the client's.
        done(
          Object.assign(new Error('authentication unavailable'), { returnCode: 3 }) as AuthenticateError,
          null,
        );
      },
    );
  }

  authorizePublish(client: Client | null, packet: PublishPacket, done: (error?: Error | null) => void): void {
    if (packet.topic.startsWith(SYS_PREFIX)) {
      done(new Error(`${SYS_PREFIX} topic is reserved`));
      return;
    }
    const failed = (err: unknown) => done(err instanceof Error ? err : new Error(String(err)));
    const verdict = (ok: boolean) => {
      if (!ok) done(new Error(`publish to ${packet.topic} not authorized`));
      else if (!client) done(null);
      else if (packet.qos === 2 && packet.dup) this.unlessHeld(client, packet, done);
      else this.admit(client, packet, done);
    };
    const hook = this.opts.authorizePublish;
    if (!hook || !client) {
      verdict(true);
      return;
    }
    let answer: boolean | Promise<boolean>;
    try {
      answer = hook(client, packet);
    } catch (err) {
      failed(err);
      return;
    }
    if (typeof answer === 'boolean') verdict(answer);
    else answer.then(verdict, failed);
  }

  /** An allowed PUBLISH: an oversize payload is reported and acknowledged, never retained nor forwarded. */
  private admit(client: Client, packet: PublishPacket, done: (error?: Error | null) => void): void {
    const size = packet.payload.length;
    if (size > this.opts.maxPayloadBytes) {
      this.stats.oversize++;
      this.opts.logger.warn(
        { clientId: client.id, topic: packet.topic, size, max: this.opts.maxPayloadBytes },
        'mqtt payload too large; dropped',
      );
      this.safe(() => this.opts.onOversize?.(client.id, packet.topic, size));
      // Acknowledged so the client goes on, but never retained (authorizeForward keeps it from subscribers).
      packet.retain = false;
    }
    this.accepted(client, packet);
    done(null);
  }

  /**
   * A QoS 2 PUBLISH sent again (DUP) before its PUBREC arrived: aedes answers a copy it already
   * holds with another PUBREC and publishes nothing (MQTT-4.3.3-2), so it must not be taken in
   * twice either. Authorization runs before that check, hence this lookup of aedes' store of
   * incoming QoS 2 packets. A lookup that fails takes it in: a duplicate, never a loss.
   */
  private unlessHeld(client: Client, packet: PublishPacket, done: (error?: Error | null) => void): void {
    const store = (client as unknown as { broker: { persistence: IncomingPackets } }).broker.persistence;
    store.incomingGetPacket(client, packet).then(
      () => done(null),
      () => this.admit(client, packet, done),
    );
  }

  authorizeSubscribe(
    client: Client,
    sub: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    const hook = this.opts.authorizeSubscribe;
    if (!hook) {
      done(null, sub);
      return;
    }
    hook(client, sub).then(
      (ok) => done(null, ok ? sub : null),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
