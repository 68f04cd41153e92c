import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * Node harness for the camera simulator (camera-server.py): a real RTSP server (GStreamer's
 * gst-rtsp-server) serving H.264 per simulated camera at /<camera>/main (640x360) and
 * /<camera>/sub (320x180) on 127.0.0.1, with faults that tests, `make demo` and `make bench`
 * switch at run time. The Python side runs with Debian's /usr/bin/python3 because the GObject
 * bindings (python3-gi, gir1.2-gst-rtsp-server-1.0) are Debian packages, not pip packages.
 */

export const CAMERA_FAULTS = [
  'ok',
  'offline',
  'stall',
  'frozen',
  'black',
  'covered',
  'turned',
  'blur',
  'bright',
  'dark',
  'cast',
] as const;
export type CameraFault = (typeof CAMERA_FAULTS)[number];

/**
 * Each picture fault and the shipped rule (config/rules/camera.yaml) that must diagnose it: what
 * the tests and the benchmark check the supervisor and the rules against.
 */
export const FAULT_RULES: readonly (readonly [Exclude<CameraFault, 'ok'>, string])[] = [
  ['offline', 'camera.offline'],
  ['stall', 'camera.offline'],
  ['frozen', 'camera.frozen'],
  ['black', 'camera.black'],
  ['covered', 'camera.covered'],
  ['turned', 'camera.displaced'],
  ['blur', 'camera.blurred'],
  ['bright', 'camera.too-bright'],
  ['dark', 'camera.too-dark'],
  ['cast', 'camera.colour-cast'],
];

export interface RtspSimOptions {
  /** Camera names; each becomes two mounts. Letters, digits, `-` and `_` only (URL path safe). */
  cameras: readonly string[];
  /** RTSP basic auth on every mount when both are set. */
  username?: string;
  password?: string;
  /** Frames per second (default 10). */
  fps?: number;
  /** Frames per GOP, i.e. between keyframes (default = fps: one keyframe per second). */
  gopFrames?: number;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Interpreter with python3-gi; default /usr/bin/python3. */
  python?: string;
  /** How long to wait for the server to listen (default 15 s). */
  readyTimeoutMs?: number;
  /** How long to wait for a fault acknowledgement (default 5 s). */
  ackTimeoutMs?: number;
}

export interface RtspSim {
  port: number;
  pid: number;
  /** rtsp://127.0.0.1:<port>/<camera>/<stream>; credentials in the URL only when asked for. */
  url(camera: string, stream?: 'main' | 'sub', withCredentials?: boolean): string;
  /** Switches a camera (both mounts) to a fault; resolves when the server has applied it. */
  fault(camera: string, fault: CameraFault): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
  stop(): Promise<void>;
}

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const STOP_GRACE_MS = 2000;

/** The script sits beside this file in the source tree; from dist/ it is found in the source. */
function scriptPath(): string {
  const candidates = [
    fileURLToPath(new URL('./camera-server.py', import.meta.url)),
    fileURLToPath(new URL('../../../simulators/rtsp/camera-server.py', import.meta.url)),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`camera-server.py not found (looked in ${candidates.join(', ')})`);
  return found;
}

interface Pending {
  camera: string;
  fault: CameraFault;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  /** Timed out: its late ack is still consumed in order, then dropped. */
  done: boolean;
}

interface ServerEvent {
  event?: string;
  port?: number;
  camera?: string;
  fault?: string;
  message?: string;
}

export async function startRtspSim(opts: RtspSimOptions): Promise<RtspSim> {
  if (opts.cameras.length === 0) throw new RangeError('the RTSP simulator needs at least one camera');
  for (const c of opts.cameras) {
    if (!NAME_RE.test(c)) throw new RangeError(`camera name '${c}' must match ${NAME_RE}`);
  }
  if (new Set(opts.cameras).size !== opts.cameras.length) throw new RangeError('camera names must be unique');
  const fps = opts.fps ?? 10;
  const gopFrames = opts.gopFrames ?? fps;
  if (!(Number.isInteger(fps) && fps >= 1 && fps <= 60)) throw new RangeError('fps must be an integer 1..60');
  if (!(Number.isInteger(gopFrames) && gopFrames >= 1))
    throw new RangeError('gopFrames must be an integer >= 1');
  const auth = opts.username !== undefined && opts.password !== undefined;

  const child = spawn(opts.python ?? '/usr/bin/python3', ['-u', scriptPath()], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, GST_DEBUG: process.env.GST_DEBUG ?? '0' },
  });
  // Credentials travel on stdin, never in argv (visible to every user through ps).
  child.stdin.write(
    `${JSON.stringify({
      cmd: 'config',
      cameras: opts.cameras,
      fps,
      gopFrames,
      port: opts.port ?? 0,
      username: auth ? opts.username : undefined,
      password: auth ? opts.password : undefined,
    })}\n`,
  );

  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  // An EPIPE after the child died must not crash the parent.
  child.stdin.on('error', () => {});

  const pending: Pending[] = [];
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      process.removeListener('exit', killOnExit);
      for (const p of pending.splice(0)) {
        clearTimeout(p.timer);
        p.reject(new Error(`RTSP simulator exited before acknowledging ${p.fault} on ${p.camera}`));
      }
      resolve();
    });
  });

  const port = await new Promise<number>((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `RTSP simulator not ready within ${opts.readyTimeoutMs ?? 15000} ms; stderr: ${stderr.trim()}`,
        ),
      );
    }, opts.readyTimeoutMs ?? 15000);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(deadline);
      reject(
        new Error(
          `RTSP simulator exited (code ${code}, signal ${signal}) before ready; stderr: ${stderr.trim()}`,
        ),
      );
    };
    child.once('exit', onExit);
    child.once('error', (err) => {
      clearTimeout(deadline);
      reject(new Error(`RTSP simulator could not start: ${err.message}`));
    });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let ev: ServerEvent;
      try {
        ev = JSON.parse(line) as ServerEvent;
      } catch {
        return;
      }
      if (ev.event === 'ready' && typeof ev.port === 'number') {
        clearTimeout(deadline);
        child.removeListener('exit', onExit);
        resolve(ev.port);
      } else if (ev.event === 'fault' || ev.event === 'error') {
        // The server handles commands in order, so the oldest pending request is the one answered.
        const p = pending.shift();
        if (!p || p.done) return;
        clearTimeout(p.timer);
        if (ev.event === 'fault' && ev.camera === p.camera && ev.fault === p.fault) p.resolve();
        else p.reject(new Error(`RTSP simulator refused ${p.fault} on ${p.camera}: ${ev.message ?? line}`));
      }
    });
  });

  const userinfo = auth
    ? `${encodeURIComponent(opts.username ?? '')}:${encodeURIComponent(opts.password ?? '')}@`
    : '';

  return {
    port,
    pid: child.pid ?? -1,
    url(camera, stream = 'sub', withCredentials = false) {
      return `rtsp://${withCredentials ? userinfo : ''}127.0.0.1:${port}/${camera}/${stream}`;
    },
    fault(camera, fault) {
      if (exited) return Promise.reject(new Error('RTSP simulator is not running'));
      if (!opts.cameras.includes(camera)) return Promise.reject(new RangeError(`unknown camera '${camera}'`));
      if (!CAMERA_FAULTS.includes(fault)) return Promise.reject(new RangeError(`unknown fault '${fault}'`));
      return new Promise<void>((resolve, reject) => {
        const entry: Pending = {
          camera,
          fault,
          resolve,
          reject,
          done: false,
          timer: setTimeout(() => {
            entry.done = true;
            reject(new Error(`RTSP simulator did not acknowledge ${fault} on ${camera}`));
          }, opts.ackTimeoutMs ?? 5000),
        };
        pending.push(entry);
        child.stdin.write(`${JSON.stringify({ cmd: 'fault', camera, fault })}\n`);
      });
    },
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const grace = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exitPromise;
      clearTimeout(grace);
    },
  };
}
