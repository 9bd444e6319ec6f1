// Headless Chromium for the page tests (Debian's, driven by playwright-core), and the folder their
// screenshots are kept in; imported as `@citycheck/testkit/browser`, so only those tests load playwright.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { repositoryRoot } from './processes.js';

/** test-artifacts/ at the repository's root. */
export const artifacts = join(repositoryRoot, 'test-artifacts');

/** Chromium's path (CITYCHECK_CHROMIUM, or Debian's); throws, naming the `what` test, when it is not there. */
export const requireChromium = (what: string): string => {
  const path = process.env.CITYCHECK_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path))
    throw new Error(
      `the ${what} test needs Chromium at ${path}: run bash infra/chromium.sh (or set CITYCHECK_CHROMIUM)`,
    );
  return path;
};

/** Chromium, headless and quiet (no sandbox, GPU, updates or sync), with test-artifacts/ created. */
export const launchChromium = async (what: string): Promise<Browser> => {
  const executablePath = requireChromium(what);
  mkdirSync(artifacts, { recursive: true });
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
};
