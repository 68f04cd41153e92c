import { execFileSync } from 'node:child_process';

/** A real JPEG from real ffmpeg (lavfi testsrc): what a camera snapshot is. */
export function testJpeg(): Buffer {
  return execFileSync('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc=s=320x180',
    '-frames:v',
    '1',
    '-f',
    'mjpeg',
    '-',
  ]);
}
