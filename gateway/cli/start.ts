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
          // A second signal does not wait for the graceful stop.
          const again = (sig2: NodeJS.Signals) => {
            logger.warn({ signal: sig2 }, 'second signal: exiting without finishing the stop');
            logger.flush();
            process.exit(130);
          };
          process.once('SIGINT', again);
          process.once('SIGTERM', again);
          resolve();
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
      const late = await gw.stop();
      if (late.length > 0)
        logger.error({ components: late }, 'stopped; some components did not stop in time');
      else logger.info('stopped');
      logger.flush();
      // Whatever is still pending (a client reconnecting to a dead Redis) must not keep the process alive.
      process.exit(late.length > 0 ? 1 : 0);
    });
}
