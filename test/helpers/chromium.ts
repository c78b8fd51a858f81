/**
 * Debian's chromium (or CHROMIUM_PATH) for the tests that drive a real browser. Without one those
 * suites say they are skipped — unless REQUIRE_BROWSER=1 (CI), where that fails.
 */
import { execFileSync } from 'node:child_process';

export function findChromium(): string | undefined {
  for (const candidate of [process.env.CHROMIUM_PATH, 'chromium', 'chromium-browser', 'google-chrome']) {
    if (!candidate) continue;
    try {
      return (
        execFileSync('sh', ['-c', `command -v ${candidate}`])
          .toString()
          .trim() || undefined
      );
    } catch {
      // Not installed under this name.
    }
  }
  return undefined;
}

/** The browser to drive, or undefined (and a line saying the suite is skipped) where there is none and none is required. */
export function requiredChromium(suite: string): string | undefined {
  const chromium = findChromium();
  if (!chromium && process.env.REQUIRE_BROWSER === '1')
    throw new Error('REQUIRE_BROWSER=1 but no Chromium was found (install Debian’s chromium, or set CHROMIUM_PATH)');
  if (!chromium) console.log(`${suite} skipped: no Chromium found (install Debian’s chromium, or set CHROMIUM_PATH)`);
  return chromium;
}
