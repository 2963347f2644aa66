// The tray icon's size per display scale factor, and the representations the tray image gets: one bitmap at the
// display's size declared 1× where the OS makes the icon from the 1× bitmap alone (Windows), 1× plus the display's
// scale elsewhere. Also: each chosen size draws a whole icon of exactly that size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drawTrayIcon } from './tray-icon';
import { representationSizes, TRAY_BASE_SIZE, trayIconSizeFor, trayRepresentations } from './tray-scale';

test('the size for each Windows scale setting is SM_CXSMICON: 16 px × the scale, rounded', () => {
  const expected: [number, number][] = [
    [1, 16],
    [1.25, 20],
    [1.5, 24],
    [1.75, 28],
    [2, 32],
    [2.25, 36],
    [2.5, 40],
    [3, 48],
    [3.5, 56],
    [4, 64],
    [5, 80],
  ];
  for (const [scale, size] of expected) assert.equal(trayIconSizeFor(scale), size, `scale ${scale}`);
});

test('fractional factors round to the nearest pixel; nothing below 16 or above 256', () => {
  assert.equal(trayIconSizeFor(1.1), 18); // 17.6
  assert.equal(trayIconSizeFor(1.125), 18);
  assert.equal(trayIconSizeFor(1.15), 18); // 18.4
  assert.equal(trayIconSizeFor(0.5), 16); // a display below 100 % still gets the 16 px icon
  assert.equal(trayIconSizeFor(20), 256);
});

test('a scale factor that is not a positive number counts as 1', () => {
  for (const bad of [0, -2, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    assert.equal(trayIconSizeFor(bad), TRAY_BASE_SIZE, String(bad));
  }
});

test('Windows (icon from the 1× bitmap): one representation at the display size, declared 1×', () => {
  assert.deepEqual(trayRepresentations(1, true), [{ size: 16, scaleFactor: 1 }]);
  assert.deepEqual(trayRepresentations(1.5, true), [{ size: 24, scaleFactor: 1 }]);
  assert.deepEqual(trayRepresentations(2, true), [{ size: 32, scaleFactor: 1 }]);
});

test('elsewhere: 16 px at 1×, plus the display size at its scale when above 100 %', () => {
  assert.deepEqual(trayRepresentations(1, false), [{ size: 16, scaleFactor: 1 }]);
  assert.deepEqual(trayRepresentations(2, false), [
    { size: 16, scaleFactor: 1 },
    { size: 32, scaleFactor: 2 },
  ]);
  assert.deepEqual(trayRepresentations(1.25, false), [
    { size: 16, scaleFactor: 1 },
    { size: 20, scaleFactor: 1.25 },
  ]);
  assert.deepEqual(representationSizes(trayRepresentations(3, false)), [16, 48]);
});

test('every chosen size draws a full icon of that size', () => {
  for (const scale of [1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4]) {
    for (const { size } of trayRepresentations(scale, true)) {
      const image = drawTrayIcon({ ratio: 0.5, memoryAvailable: 3, state: 'available' }, size);
      assert.equal(image.width, size);
      assert.equal(image.rgba.length, size * size * 4);
      assert.ok(
        image.rgba.some((v, i) => i % 4 === 3 && v === 255),
        `opaque pixels at ${size}`,
      );
    }
  }
});
