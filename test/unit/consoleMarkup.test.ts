// The ops console's HTML template: what comes from outside (a merchant's subject, an operator's
// note, a channel's reason) is always escaped, and markup made by the template never twice.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { age, consoleUrl, html, money } from '../../src/api/console/markup';

describe('the ops console markup', () => {
  it('escapes every value it is given, in text and in attributes', () => {
    const note = `<script>alert("x")</script> & 'quotes'`;
    assert.equal(
      html`<p title="${note}">${note}</p>`.text,
      '<p title="&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;quotes&#39;">' +
        '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;quotes&#39;</p>',
    );
  });

  it('puts its own markup in as it is, lists joined, and nothing for empty values', () => {
    const items = ['a<b', 'c'].map((x) => html`<li>${x}</li>`);
    // prettier-ignore
    const list = html`<ul>${items}</ul>${undefined}${null}${false}${0}`;
    assert.equal(list.text, '<ul><li>a&#60;b</li><li>c</li></ul>0');
  });

  it('builds links with their query, leaving empty filters out', () => {
    assert.equal(
      consoleUrl('/audit', { operator: 'lin', action: '', cursor: '12' }),
      '/ops/console/audit?operator=lin&cursor=12',
    );
    assert.equal(consoleUrl(''), '/ops/console');
  });

  it('reads money in major units with its currency, and ages in the largest whole unit', () => {
    assert.equal(money(1234, 'CNY'), '12.34 CNY');
    assert.equal(money(500, 'JPY'), '500 JPY');
    assert.equal(money(null, 'CNY'), '—');
    const now = new Date('2026-12-04T12:00:00Z');
    assert.equal(age('2026-12-04T11:59:20Z', now), '40 s');
    assert.equal(age('2026-12-04T09:30:00Z', now), '2 h');
    assert.equal(age('2026-12-01T12:00:00Z', now), '3 d');
  });
});
