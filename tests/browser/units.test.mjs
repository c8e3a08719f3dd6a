// SPDX-License-Identifier: Apache-2.0
// Unit checks of the dashboard's pure functions, run by Node on the very modules the browser
// loads (web/js/*.js): duration parsing, series names, the step rule (<= 1 point per 2 px,
// <= 11,000 points), PromQL-safe variable substitution, % change and regression flags, CSV
// quoting, hash routing and role rules, when a session token is renewed. No browser or
// server needed. Prints "N passed,
// M failed" last (run.sh runs it with the other *.test.mjs files).

import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The modules touch window/document only inside functions, except theme.js's media query.
globalThis.window = { matchMedia: () => ({ matches: false, addEventListener() {} }) };

const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'js');
const load = (name) => import(pathToFileURL(join(web, name)).href);
const fmt = await load('format.js');
const query = await load('query.js');
const panels = await load('panels.js');
const compare = await load('compare.js');
const exporter = await load('export.js');
const router = await load('router.js');
const cfg = await load('config_form.js');
const manage = await load('alert_manage.js');
const session = await load('session.js');

let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    fn();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`not ok - ${name}: ${e.message}`);
  }
}
function eq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

check('parseDuration and formatDuration', () => {
  eq(fmt.parseDuration('1h30m'), 5400e3, '1h30m');
  eq(fmt.parseDuration('5y'), 5 * 365 * 86400e3, '5y');
  eq(fmt.parseDuration('250ms'), 250, '250ms');
  for (const bad of ['', '1', 'h', '1.5h', '-1h', '1 h', '1x']) eq(Number.isNaN(fmt.parseDuration(bad)), true, `"${bad}" rejected`);
  eq(fmt.formatDuration(5400e3), '1h30m', 'format 1h30m');
  eq(fmt.formatDuration(0), '0s', 'format 0');
});

check('parseValue and formatters keep NaN and infinities readable', () => {
  eq(fmt.parseValue('+Inf'), Infinity, '+Inf');
  eq(Number.isNaN(fmt.parseValue('NaN')), true, 'NaN');
  eq(Number.isNaN(fmt.parseValue('')), true, 'empty');
  eq(fmt.formatBytes(3 * 1024 ** 3), '3.00 GiB', 'bytes');
  eq(fmt.formatValue(-Infinity, 'percent'), '-Inf', 'percent -Inf');
  eq(fmt.formatNumber(1234567), '1.23M', 'compact');
});

check('seriesName escapes quotes and backslashes, sorts labels', () => {
  eq(fmt.seriesName({ __name__: 'm', z: '1', a: 'x"y\\' }), 'm{a="x\\"y\\\\", z="1"}', 'escaped');
  eq(fmt.seriesName({}), '{}', 'empty');
});

check('stepFor: at most one point per 2 px and 11,000 points, friendly steps', () => {
  for (const [span, width] of [[900e3, 1200], [3600e3, 300], [5 * 365 * 86400e3, 1920], [60e3, 4000], [86400e3, 100000]]) {
    const step = query.stepFor(0, span, width);
    if (span / 1000 / step > Math.max(10, width / 2) + 1e-9) throw new Error(`span ${span} width ${width}: step ${step} gives too many points`);
    if (span / 1000 / step > 11000) throw new Error(`span ${span}: over 11,000 points`);
  }
  eq(query.stepFor(0, 900e3, 1200), 2, '15 min on 1200 px');
  eq(query.stepFor(0, 60e3, 1200), 1, 'never below 1 s');
});

check('matrixSeries and vectorSeries convert Prometheus shapes', () => {
  const m = query.matrixSeries({ resultType: 'matrix', result: [{ metric: { __name__: 'a' }, values: [[1, '2'], [2, 'NaN']] }] });
  eq(m[0].points, [{ x: 1000, y: 2 }, { x: 2000, y: null }], 'points, NaN as gap');
  eq(query.matrixSeries({ resultType: 'vector', result: [] }), [], 'wrong type');
  eq(query.vectorSeries({ resultType: 'scalar', result: [3, '4'] })[0].value, 4, 'scalar');
});

check('substitute escapes variable values for PromQL strings; titles get them raw', () => {
  eq(panels.substitute('m{h="$h",x="${h}"} $other', { h: 'a"b\\' }), 'm{h="a\\"b\\\\",x="a\\"b\\\\"} $other', 'query');
  eq(panels.substituteText('CPU $h', { h: '<b>' }), 'CPU <b>', 'title');
});

check('shortLabels keeps only the labels that differ', () => {
  const s = [{ label: 'x', metric: { __name__: 'm', cpu: '0', host: 'a' } }, { label: 'y', metric: { __name__: 'm', cpu: '1', host: 'a' } }];
  eq(panels.shortLabels(s), ['cpu=0', 'cpu=1'], 'cpu only');
});

check('mean, % change and regression flag', () => {
  eq(compare.mean([{ y: 1 }, { y: null }, { y: 3 }]), 2, 'mean skips gaps');
  eq(compare.pctChange(50, 60), 20, '+20 %');
  eq(compare.pctChange(-50, -60), -20, 'negative base uses |A|');
  eq(Number.isNaN(compare.pctChange(0, 1)), true, 'zero base');
  eq(compare.flagFor(20, 10, 'higher'), 'regression', 'higher is worse');
  eq(compare.flagFor(20, 10, 'lower'), 'improvement', 'lower is worse');
  eq(compare.flagFor(-5, 10, 'higher'), '', 'within threshold');
});

check('chartCSV quotes per RFC 4180 and aligns series on time', () => {
  const chart = { data: { datasets: [
    { label: 'a{h="x,y"}', data: [{ x: 0, y: 1 }, { x: 1000, y: 2 }] },
    { label: 'b', data: [{ x: 1000, y: null }] },
  ] } };
  eq(exporter.chartCSV(chart), 'time,"a{h=""x,y""}",b\r\n1970-01-01T00:00:00.000Z,1,\r\n1970-01-01T00:00:01.000Z,2,\r\n', 'csv');
  eq(exporter.fileStem('CPU utilisation %'), 'cpu-utilisation', 'file stem');
});

check('parseHash and role rules', () => {
  const r = router.parseHash('#/dashboards/team%20a?var-host=x');
  eq([r.view, r.arg, r.params.get('var-host')], ['dashboards', 'team a', 'x'], 'parsed');
  eq(router.parseHash('').view, '', 'empty');
  eq([router.isAdminRole('admin'), router.isAdminRole('viewer'), router.isAdminRole(null)], [true, false, false], 'admin');
  eq(['viewer', 'developer', 'analyst', 'admin', 'superuser'].map(router.canEditRole), [false, true, true, true, true], 'edit');
});

check('config editor: kinds, range checks, dotted paths', () => {
  eq(['object', 'boolean', 'integer', 'number', 'duration', 'size', 'string list', 'enum list', 'template map', 'string']
    .map((type) => cfg.kindOf({ type, values: type === 'enum list' ? ['a'] : undefined })),
  ['object', 'bool', 'int', 'number', 'measure', 'measure', 'lines', 'enumlist', 'json', 'text'], 'kinds');
  eq(cfg.kindOf({ type: 'enum', values: ['a', 'b'] }), 'enum', 'enum');
  const f = { type: 'integer', min: 1, max: 10, unit: 's' };
  eq(cfg.parseField(f, '5'), { value: 5 }, 'in range');
  eq(cfg.parseField(f, '0'), { error: 'At least 1 s.' }, 'below min');
  eq(cfg.parseField(f, '11'), { error: 'At most 10 s.' }, 'above max');
  eq(cfg.parseField(f, '2.5'), { error: 'Enter a whole number.' }, 'not whole');
  eq(cfg.parseField(f, ''), { error: 'Enter a number.' }, 'empty');
  eq(cfg.parseField({ type: 'number', min: 0, exclusive_min: true }, '0'), { error: 'More than 0.' }, 'exclusive min');
  eq(cfg.parseField({ type: 'number', max: 1 }, '0.5'), { value: 0.5 }, 'double');
  eq(cfg.parseField({ type: 'duration', unit: 's', min: 1 }, '30'), { value: 30 }, 'duration number');
  eq(cfg.parseField({ type: 'duration', unit: 's', min: 1 }, '0'), { error: 'At least 1 s.' }, 'duration below min');
  eq(cfg.parseField({ type: 'duration' }, '5m'), { value: '5m' }, 'duration text is the server\'s to judge');
  eq(cfg.parseField({ type: 'size' }, ''), { error: 'Enter a size.' }, 'empty size');
  eq(cfg.parseField({ type: 'string list' }, 'a\n\n b '), { value: ['a', 'b'] }, 'lines');
  eq(cfg.parseField({ type: 'enum list', values: ['x', 'y'] }, ['y']), { value: ['y'] }, 'enum list');
  eq(cfg.parseField({ type: 'template map' }, '{"a":1}'), { value: { a: 1 } }, 'json');
  eq(cfg.parseField({ type: 'template map' }, '{a'), { error: 'Enter valid JSON.' }, 'bad json');
  const doc = { server: { listen: 'x' } };
  eq(cfg.getPath(doc, 'server.listen'), 'x', 'get');
  eq(cfg.getPath(doc, 'server.nope.deeper'), undefined, 'get absent');
  cfg.setPath(doc, 'alerting.cooldowns.system', 600);
  eq(doc.alerting, { cooldowns: { system: 600 } }, 'set creates objects');
});

check('msUntilRefresh: a fifth of the lifetime before expiry, at least 5 s, never negative', () => {
  const at = (ms) => new Date(Date.now() + ms).toISOString();
  const near = (got, want, what) => {
    if (Math.abs(got - want) > 1000) throw new Error(`${what}: got ${got}, want about ${want}`);
  };
  near(session.msUntilRefresh({ expires_at: at(60e3), issued_at: Date.now() }), 48e3, '1-minute token');
  near(session.msUntilRefresh({ expires_at: at(12 * 3600e3), issued_at: Date.now() }), 12 * 3600e3 * 0.8, '12-hour token');
  near(session.msUntilRefresh({ expires_at: at(30e3), issued_at: Date.now() - 30e3 }), 18e3, 'half-way through');
  near(session.msUntilRefresh({ expires_at: at(10e3), issued_at: Date.now() }), 5e3, 'short: 5 s lead');
  eq(session.msUntilRefresh({ expires_at: at(2e3), issued_at: Date.now() - 60e3 }), 0, 'overdue');
  near(session.msUntilRefresh({ expires_at: at(100e3) }), 80e3, 'no issued_at');
  eq(session.msUntilRefresh({ expires_at: 'never' }), Infinity, 'no usable expiry');
});

check('alert editors: matchers, label pairs, field named in an API message', () => {
  eq(manage.parseMatcher('alertname="High CPU"'), { name: 'alertname', op: '=', value: 'High CPU' }, 'quoted');
  eq(manage.parseMatcher('sev=~warn.*'), { name: 'sev', op: '=~', value: 'warn.*' }, 'regex, bare');
  eq(manage.parseMatcher('a!="x\\"y"'), { name: 'a', op: '!=', value: 'x"y' }, 'escaped quote');
  eq(manage.parseMatcher('not a matcher'), null, 'bad');
  eq(manage.parsePairs('team=ci, env = prod'), { team: 'ci', env: 'prod' }, 'pairs');
  let threw = false;
  try { manage.parsePairs('oops'); } catch { threw = true; }
  eq(threw, true, 'bad pair');
  eq(manage.fieldInMessage('expr: 1:10: parse error', ['warning', 'expr']), 'expr', 'expr');
  eq(manage.fieldInMessage('critical must not be less severe than warning', ['expr', 'critical', 'warning']), 'critical', 'first named');
  eq(manage.fieldInMessage('bad request', ['expr']), '', 'none');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
