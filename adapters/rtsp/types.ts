import type { Logger } from 'pino';
import type { ReferenceStore } from '../../processors/camera/reference.js';
import type { CameraStream } from '../../processors/registry/camera.js';

/** A camera as the supervisor needs it: the registry's stream settings (CAMERA-CONTRACT.md). */
export type SupervisedCamera = CameraStream;

export interface CameraSupervisorOptions {
  /** ffmpeg binary (5.1 or newer). */
  ffmpeg: string;
  maxProcesses: number;
  statsIntervalS: number;
  stallS: number;
  connectTimeoutS: number;
  backoff: { initialS: number; maxS: number };
  references: ReferenceStore;
  onReading(cameraId: string, fields: Record<string, number>, at: number): void;
  logger: Logger;
}

export type CameraState = 'starting' | 'online' | 'offline' | 'capped' | 'stopped';

export interface CameraStatus {
  id: string;
  state: CameraState;
  /** ffmpeg analysis process, while one runs. */
  pid?: number;
  /** Restarts after a failure since the camera was added. */
  restarts: number;
  /** Why it is not online (scrubbed of credentials), or the GG_ERR_CAMERA_CAP message. */
  lastError?: string;
  /** Epoch ms the state was entered. */
  since: number;
  fps?: number;
  bitrateKbps?: number;
  lastKeyframeAt?: number;
  /** Epoch ms the reference frame was taken; absent until one exists. */
  referenceAt?: number;
  /** Epoch ms of the next restart attempt while offline. */
  nextRestartAt?: number;
}
