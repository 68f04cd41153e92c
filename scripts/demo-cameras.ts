/**
 * The demo's cameras: a few simulated RTSP cameras registered beside the simulated devices, each
 * covering a share of them (so their alerts carry snapshots), and two of them put through the
 * picture faults the supervisor diagnoses, on a schedule.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { type CameraFault, type RtspSim, startRtspSim } from '../simulators/rtsp/server.js';

const CAMERAS = ['demo-cam-1', 'demo-cam-2', 'demo-cam-3', 'demo-cam-4'];
const USER = 'demo';
const PASSWORD = 'demo-rtsp-secret';
/** Faults per camera, one step per period; cameras 1 and 2 stay healthy for good snapshots. */
const SCHEDULE: Record<string, readonly CameraFault[]> = {
  'demo-cam-3': ['frozen', 'ok', 'black', 'ok', 'covered', 'ok', 'turned', 'ok', 'blur', 'ok'],
  'demo-cam-4': ['offline', 'ok', 'cast', 'ok', 'dark', 'ok', 'bright', 'ok'],
};
/** Long enough for a fault to raise its incident (within 10 s) and for the consumer to see it. */
const STEP_MS = 30_000;
/** Reference frames are taken from the first good keyframes: faults start after that. */
const FIRST_FAULT_MS = 20_000;

interface DeviceEntry {
  id: string;
  location: Record<string, string>;
}

export interface DemoCameras {
  sim: RtspSim;
  cameras: readonly string[];
  /** Starts the fault schedule; prints each change. */
  schedule(print: (line: string) => void): void;
  stop(): Promise<void>;
}

/** Starts the simulator and adds the cameras (with `covers`) to the demo's device file. */
export async function startDemoCameras(devicesFile: string): Promise<DemoCameras> {
  const sim = await startRtspSim({ cameras: CAMERAS, username: USER, password: PASSWORD });
  const doc = parse(readFileSync(devicesFile, 'utf8')) as { devices: DeviceEntry[] };
  const devices = doc.devices;
  const cameras = CAMERAS.map((id, i) => {
    // Consecutive groups of four: the fleet file interleaves families, so each camera sees every family.
    const covers = devices.filter((_, n) => Math.floor(n / 4) % CAMERAS.length === i).map((d) => d.id);
    return {
      id,
      model: 'rtsp-camera',
      location: { ...devices[i]?.location },
      state: 'active',
      rtsp: {
        url: sim.url(id, 'main'),
        subUrl: sim.url(id, 'sub'),
        username: USER,
        password: PASSWORD,
        transport: 'tcp',
      },
      covers,
    };
  });
  writeFileSync(
    devicesFile,
    stringify({ devices: [...devices, ...cameras] }, { aliasDuplicateObjects: false }),
  );
  const timers: NodeJS.Timeout[] = [];
  return {
    sim,
    cameras: CAMERAS,
    schedule(print) {
      for (const [camera, faults] of Object.entries(SCHEDULE)) {
        faults.forEach((fault, step) => {
          const t = setTimeout(
            () => {
              print(`camera ${camera}: ${fault === 'ok' ? 'back to normal' : `fault '${fault}'`}`);
              sim.fault(camera, fault).catch((err: unknown) => print(`camera ${camera}: ${String(err)}`));
            },
            FIRST_FAULT_MS + step * STEP_MS,
          );
          timers.push(t);
        });
      }
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      await sim.stop();
    },
  };
}
