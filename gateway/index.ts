/**
 * The package's public API (`import { Gateway, loadConfig } from 'gridgate'`): run the gateway
 * in-process, define device models, and the canonical types. Alert consumers use `gridgate/consumer`.
 */
export { loadConfig } from '../config/load.js';
export type { GridgateConfig } from '../config/schema.js';
export type { AlertEvent, AlertEventType, Severity } from '../processors/alerts/event.js';
export type { DeviceModel, ModelInput } from '../processors/devices/define.js';
export { defineModel, metric } from '../processors/devices/define.js';
export { GridgateError } from '../processors/errors.js';
export type { Device, Family, InboundMessage, LocationPath, Reading } from '../processors/types.js';
export { Gateway } from './app.js';
export { createLogger } from './log.js';
