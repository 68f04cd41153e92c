import { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { Gateway } from '../app.js';
import { createLogger } from '../log.js';

/** `gridgate start`: run the gateway until SIGINT/SIGTERM, then drain and flush. */
export function startCommand(): Command {
  return new Command('start')
    .description('run the gateway (embedded MQTT broker unless mqtt.url is set)')
    .option('-c, --config <file>', 'config file (YAML); default: built-in defaults + GRIDGATE_* variables')
    .option(
      '--capture <file>',
      'also write normalized readings as NDJSON to FILE (for `gridgate rules test --replay`)',
    )
    .action(async (opts: { config?: string; capture?: string }) => {
      const env = opts.capture ? { ...process.env, GRIDGATE_INGEST__CAPTURE: opts.capture } : process.env;
      const config = loadConfig({ file: opts.config, env });
      const logger = createLogger(config.log);
      const gw = new Gateway({ config, logger });
      await gw.start();
      await new Promise<void>((resolve) => {
        const onSignal = (sig: NodeJS.Signals) => {
          logger.info({ signal: sig }, 'stopping');
          resolve();
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
      await gw.stop();
      logger.info('stopped');
      logger.flush();
    });
}
