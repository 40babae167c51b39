// The export's CSV fields: RFC 4180 quoting (a quote, comma, CR or LF quotes the field, a quote
// inside is doubled) and the spreadsheet-formula guard, read back by an independent reader.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { csvField } from './compliance_export.ts';
import { parseCsv } from '../../../test/compliance/csv.ts';

test('csvField quotes what RFC 4180 needs quoted and nothing else', () => {
  assert.equal(csvField('plain text'), 'plain text');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\r\nlines'), '"two\r\nlines"');
  assert.equal(csvField(''), '');
});

test('csvField guards a cell a spreadsheet would run as a formula', () => {
  for (const v of ['=SUM(A1)', '+1', '-1', '@cmd']) assert.equal(csvField(v), `'${v}`);
  assert.equal(csvField('=1,2'), `"'=1,2"`);
});

test('any row of fields reads back through an RFC 4180 reader', () => {
  fc.assert(fc.property(fc.array(fc.string({ maxLength: 20 }).filter((s) => !/^[=+\-@\t\r]/.test(s)), { minLength: 1, maxLength: 6 }), (fields) => {
    assert.deepEqual(parseCsv(`${fields.map(csvField).join(',')}\r\n`), [fields]);
  }));
});
