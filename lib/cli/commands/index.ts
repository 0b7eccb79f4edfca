import type { Command } from 'commander';
import { registerConfig } from './config';
import { registerCost } from './cost';

/** Each command module adds its command to the program. Keep the list sorted. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [registerConfig, registerCost];
