import { describe, expect, it } from 'vitest';
import { parseAddress, splitPath } from './format';

describe('splitPath', () => {
  it('cuts before the last part, for / and \\ alike', () => {
    expect(splitPath('/usr/bin/node')).toEqual(['/usr/bin/', 'node']);
    expect(splitPath('C:\\Windows\\System32\\ntdll.dll')).toEqual(['C:\\Windows\\System32\\', 'ntdll.dll']);
    expect(splitPath('[heap]')).toEqual(['', '[heap]']);
    expect(splitPath('/dir/')).toEqual(['', '/dir/']);
  });
});

describe('parseAddress', () => {
  it('takes the whole 64-bit range exactly', () => {
    expect(parseAddress('0xffffffffff600000')).toBe(0xffffffffff600000n);
    expect(parseAddress(' 7fff_1234 ')).toBe(0x7fff1234n);
    expect(parseAddress('1ffffffffffffffff')).toBeUndefined();
    expect(parseAddress('xyz')).toBeUndefined();
    expect(parseAddress('')).toBeUndefined();
  });
});
