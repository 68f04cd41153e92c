#!/usr/bin/env node
/**
 * The `gridgate` command. Each verb lives in its own file; this one only mounts them.
 * CLI files are the one place that prints to the console.
 */
import { Command } from 'commander';
import { configCommand } from './config.js';
import { deadlettersCommand } from './deadletters.js';
import { devicesCommand } from './devices.js';
import { incidentsCommand } from './incidents.js';
import { modelsCommand } from './models.js';
import { rulesCommand } from './rules.js';
import { simulateCommand } from './simulate.js';
import { startCommand } from './start.js';
import { tokensCommand } from './tokens.js';

const program = new Command('gridgate')
  .description('IoT gateway and stream processor for city operations centres')
  .version('0.1.0')
  .showHelpAfterError()
  .addCommand(startCommand())
  .addCommand(simulateCommand())
  .addCommand(rulesCommand())
  .addCommand(tokensCommand())
  .addCommand(configCommand())
  .addCommand(deadlettersCommand())
  .addCommand(devicesCommand())
  .addCommand(incidentsCommand())
  .addCommand(modelsCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  console.error(`gridgate: ${(err as Error).message}`);
  const details = (err as { details?: readonly string[] }).details;
  if (details?.length) for (const d of details) console.error(`  - ${d}`);
  process.exitCode = 1;
}
