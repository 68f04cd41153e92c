import { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { maskSecrets } from '../../config/redact.js';

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
    .description(
      'print the effective configuration (defaults + file + environment); passwords, tokens and URL credentials masked',
    )
    .option('-c, --config <file>', 'config file (YAML)')
    .action((opts: { config?: string }) => {
      const cfg = loadConfig({ file: opts.config });
      console.log(JSON.stringify(maskSecrets(cfg), null, 2));
    });
  return cmd;
}
