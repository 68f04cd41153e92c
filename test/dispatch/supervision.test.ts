import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { AlertDispatcher } from '../../adapters/bullmq/dispatcher.js';
import { deadlineJobId, Supervision } from '../../adapters/bullmq/supervision.js';
import { SupervisionSink } from '../../adapters/bullmq/supervision-sink.js';
import { createAlertConsumer } from '../../gateway/consumer.js';
import type { AlertEvent } from '../../processors/alerts/event.js';
import { GridgateError } from '../../processors/errors.js';
import { cleanups, obliterate, sampleEvent, silent, tempOutbox, uniqueName, waitFor } from './support.js';

const redisUrl = inject('redisUrl');

/** The chain a gateway wires: incidents -> supervision -> dispatcher -> a real consumer. */
async function setup() {
  const alerts = uniqueName('alerts');
  const control = uniqueName('supervision');
  const ackKeyPrefix = `${uniqueName('ack')}:`;
  const incidents = new Map<string, AlertEvent>();
  const dispatcher = new AlertDispatcher({
    connection: redisUrl,
    logger: silent,
    defaultQueue: alerts,
    outbox: tempOutbox(),
  });
  const supervision = new Supervision({
    connection: redisUrl,
    logger: silent,
    sink: dispatcher,
    getIncident: async (id) => incidents.get(id),
    queue: control,
    ackKeyPrefix,
  });
  const received: AlertEvent[] = [];
  const consumer = createAlertConsumer({
    connection: redisUrl,
    queue: alerts,
    handler: async (e) => {
      received.push(e);
    },
  });
  const events = new QueueEvents(control, {
    connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
  });
  const outcomes: { jobId: string; returnvalue: unknown }[] = [];
  events.on('completed', ({ jobId, returnvalue }) => outcomes.push({ jobId, returnvalue }));
  await events.waitUntilReady();
  const redis = new Redis(redisUrl);
  const controlQueue = new Queue(control, { connection: redis });
  // Ready before any test can end: closing while BullMQ's connection check (INFO) is in flight
  // rejects it, and that surfaced as an unhandled 'Connection is closed' after the last test.
  await controlQueue.waitUntilReady();
  cleanups.push(async () => {
    await consumer.close();
    await events.close();
    await supervision.stop();
    await dispatcher.stop();
    await controlQueue.close();
    const keys = await redis.keys(`${ackKeyPrefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await obliterate(redisUrl, [alerts, control]);
  });
  /** Fire an incident: the engine's current state plus the event through the sinks. */
  const fire = async (e: AlertEvent, ackWithinMs: number) => {
    incidents.set(e.incidentId, e);
    const sink = new SupervisionSink(supervision, () => ackWithinMs, silent);
    await dispatcher.emit(e);
    await sink.emit(e);
  };
  return { supervision, dispatcher, incidents, received, outcomes, controlQueue, fire };
}

describe('ack and supervision (督办)', () => {
  it('escalates an unacknowledged incident with alert.escalated, reason ack_overdue, via a delayed job', async () => {
    const s = await setup();
    const e = sampleEvent({ severity: 'orange' });
    await s.fire(e, 300);
    const job = await s.controlQueue.getJob(deadlineJobId(e.incidentId));
    expect(await job?.getState()).toBe('delayed');
    const escalated = await waitFor(() => s.received.find((r) => r.type === 'alert.escalated'));
    expect(escalated).toMatchObject({
      incidentId: e.incidentId,
      reason: 'ack_overdue',
      severity: 'orange',
      previousSeverity: 'orange',
      id: `${e.id}.ack-overdue`,
      startedAt: e.startedAt,
    });
    expect(escalated.summary.zh).toContain('督办');
    expect(await s.supervision.isAcked(e.incidentId)).toBe(false);
  });

  it('does not escalate an incident acknowledged before its deadline, and records who acked', async () => {
    const s = await setup();
    const e = sampleEvent();
    await s.fire(e, 300);
    const rec = await s.supervision.ack(e.incidentId, '张三', '已派人');
    expect(rec).toMatchObject({ incidentId: e.incidentId, by: '张三', note: '已派人' });
    expect(await s.supervision.getAck(e.incidentId)).toEqual(rec);
    expect(await s.supervision.isAcked(e.incidentId)).toBe(true);
    // The delayed job is gone...
    expect(await s.controlQueue.getJob(deadlineJobId(e.incidentId))).toBeUndefined();
    // ...and a deadline that runs anyway (re-scheduled, e.g. after a restart) sees the ack.
    await s.supervision.scheduleAckDeadline(e, 50);
    await waitFor(() => s.outcomes.find((o) => o.jobId === deadlineJobId(e.incidentId)));
    expect(s.outcomes.map((o) => o.returnvalue)).toEqual(['acked']);
    expect(s.received.map((r) => r.type)).toEqual(['alert.firing']);
  });

  it('concurrent acks of one incident: the first stands and every caller gets it back', async () => {
    const s = await setup();
    const e = sampleEvent();
    await s.fire(e, 60_000);
    const recs = await Promise.all(
      ['甲', '乙', '丙', '丁'].map((who) => s.supervision.ack(e.incidentId, who)),
    );
    const stored = await s.supervision.getAck(e.incidentId);
    expect(new Set(recs.map((r) => r.by))).toEqual(new Set([stored?.by]));
    expect(['甲', '乙', '丙', '丁']).toContain(stored?.by);
    // a later ack of the same lifecycle does not overwrite either
    expect((await s.supervision.ack(e.incidentId, '戊')).by).toBe(stored?.by);
  });

  it('a resolved incident cancels its deadline; a deadline racing the resolve does not escalate', async () => {
    const s = await setup();
    const e = sampleEvent();
    await s.fire(e, 60_000);
    expect(await s.controlQueue.getJob(deadlineJobId(e.incidentId))).toBeDefined();
    const resolved = sampleEvent({
      incidentId: e.incidentId,
      id: `${e.incidentId}.resolved.1`,
      type: 'alert.resolved',
      resolvedAt: '2026-07-01T09:00:00.000Z',
    });
    await s.fire(resolved, 60_000);
    expect(await s.controlQueue.getJob(deadlineJobId(e.incidentId))).toBeUndefined();

    // Race: the deadline job runs although the incident resolved meanwhile.
    await s.supervision.scheduleAckDeadline(e, 50);
    await waitFor(() => s.outcomes.find((o) => o.jobId === deadlineJobId(e.incidentId)));
    expect(s.outcomes.map((o) => o.returnvalue)).toEqual(['closed']);
    await waitFor(() => (s.received.length === 2 ? true : undefined));
    expect(s.received.map((r) => r.type)).toEqual(['alert.firing', 'alert.resolved']);
  });

  it('an ack of an earlier lifecycle of the same incident id does not silence the next one', async () => {
    const s = await setup();
    const first = sampleEvent();
    s.incidents.set(first.incidentId, first);
    await s.supervision.ack(first.incidentId, 'ops');
    const again = sampleEvent({
      incidentId: first.incidentId,
      id: `${first.incidentId}.firing.2`,
      startedAt: '2026-07-02T08:00:00.000Z',
      at: '2026-07-02T08:00:00.000Z',
    });
    await s.fire(again, 200);
    expect(await s.supervision.isAcked(first.incidentId)).toBe(false);
    const escalated = await waitFor(() => s.received.find((r) => r.type === 'alert.escalated'));
    expect(escalated.id).toBe(`${again.id}.ack-overdue`);
  });

  it('an ack sent before the connection is first up waits for it instead of failing', async () => {
    const e = sampleEvent();
    const ackKeyPrefix = `${uniqueName('ack')}:`;
    const supervision = new Supervision({
      connection: redisUrl,
      logger: silent,
      sink: { emit: async () => {} },
      getIncident: async (id) => (id === e.incidentId ? e : undefined),
      queue: uniqueName('supervision'),
      ackKeyPrefix,
      worker: false,
    });
    cleanups.push(() => supervision.stop());
    // Same tick as the constructor: the producer connection (no offline queue) is not up yet.
    const ack = await supervision.ack(e.incidentId, 'ops');
    expect(ack.by).toBe('ops');
    expect(await supervision.isAcked(e.incidentId)).toBe(true);
  });

  it('ack of an unknown incident is GG_ERR_NOT_FOUND', async () => {
    const s = await setup();
    const err = await s.supervision.ack('no-such-incident', 'ops').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GridgateError);
    expect((err as GridgateError).code).toBe('GG_ERR_NOT_FOUND');
  });
});
