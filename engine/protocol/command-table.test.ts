/** CommandTable: byte names match case-insensitively, only exactly, and nothing else matches. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandTable } from './command-table';

const table = new CommandTable({ GET: 1, SET: 2, MGET: 3, 'CLUSTER.SETMAP': 4, 'copr.exec': 5 });

test('a name matches in any letter case and returns its canonical upper-case name', () => {
  for (const [name, spec, canonical] of [['GET', 1, 'GET'], ['get', 1, 'GET'], ['gEt', 1, 'GET'], ['mget', 3, 'MGET'], ['cluster.setmap', 4, 'CLUSTER.SETMAP'], ['COPR.EXEC', 5, 'COPR.EXEC']] as const) {
    const entry = table.lookup(Buffer.from(name, 'latin1'));
    assert.deepStrictEqual(entry && { name: entry.name, spec: entry.spec }, { name: canonical, spec }, name);
  }
});

test('prefixes, extensions, same-length neighbours and non-letters folded like letters do not match', () => {
  for (const name of ['', 'GE', 'GETX', 'GEt ', 'PUT', 'SETS', 'MSET', 'G\u00c5T', 'GET\u0000', 'CLUSTER_SETMAP', 'gE\u0014']) {
    assert.equal(table.lookup(Buffer.from(name, 'latin1')), undefined, JSON.stringify(name));
  }
  // 0x47 0x45 0x54 is GET; 0x67 0x65 0x74 get; 0xc7 0xc5 0xd4 is neither (bit 5 alone does not fold).
  assert.equal(table.lookup(Buffer.from([0xc7, 0xc5, 0xd4])), undefined);
  assert.equal(table.lookup(Buffer.from([0x47 | 0x80, 0x45, 0x54])), undefined);
});

test('a name that is not printable ASCII is refused when the table is built', () => {
  assert.throws(() => new CommandTable({ 'BAD NAME': 1 }), /printable ASCII/);
});
