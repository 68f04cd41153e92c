import { Command } from 'commander';
import { loadConfig } from '../../config/load.js';

/** `gridgate config check|show`: validate a config file (every problem at once) or print the effective config. */
export function configCommand(): Command {
  const cmd = new Command('config').description('validate or print the configuration');
  cmd
    .command('check')
    .description('validate a config file and GRIDGATE_* overrides; exit 1 listing every problem')
    .option('-c, --config <file>', 'config file (YAML)')
    .action((opts: { config?: string }) => {
      loadConfig({ file: opts.config });
      console.log(`${opts.config ?? '(defaults)'}: configuration is valid`);
    });
  cmd
    .command('show')
    .description('print the effective configuration (defaults + file + environment), secrets masked')
    .option('-c, --config <file>', 'config file (YAML)')
    .action((opts: { config?: string }) => {
      const cfg = loadConfig({ file: opts.config });
      const masked = JSON.parse(JSON.stringify(cfg), (k, v) =>
        /password|token|secret/i.test(k) && typeof v === 'string' && v !== '' ? '***' : v,
      ) as unknown;
      console.log(JSON.stringify(masked, null, 2));
    });
  return cmd;
}
