import { z } from 'zod';

/** A listener: interface and TCP port (used by more than one section). */
export const hostPort = (port: number) =>
  z.strictObject({
    host: z.string().min(1).default('127.0.0.1').describe('interface to bind'),
    port: z.number().int().min(0).max(65535).default(port).describe('TCP port (0 picks a free one)'),
  });

export const tls = z
  .strictObject({
    cert: z.string().min(1).describe('PEM certificate path'),
    key: z.string().min(1).describe('PEM private key path'),
  })
  .optional();
