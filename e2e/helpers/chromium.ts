/** Debian's Chromium through playwright-core, as every browser test launches it. */
import { chromium, type BrowserContext } from 'playwright-core';

type LaunchOptions = NonNullable<Parameters<typeof chromium.launchPersistentContext>[1]>;

/**
 * Headless Chromium with a throw-away profile in `profileDir`; every host name resolves to
 * 127.0.0.1, so pages can use real-looking site names. `extraArgs` adds command line switches.
 */
export function launchChromium(
  profileDir: string,
  opts: Omit<LaunchOptions, 'executablePath' | 'headless' | 'args'> & { extraArgs?: string[] } = {},
): Promise<BrowserContext> {
  const { extraArgs = [], ...rest } = opts;
  return chromium.launchPersistentContext(profileDir, {
    ...rest,
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--host-resolver-rules=MAP * 127.0.0.1',
      ...extraArgs,
    ],
  });
}
