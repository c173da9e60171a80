// The ops console's one style sheet, served as /ops/console/assets/console.css (the console's
// policy allows styles from its own origin only, and no script at all).
export const consoleCss = `
:root { font-family: system-ui, sans-serif; font-size: 14px; color: #1d2433; background: #f6f7f9; }
body { margin: 0; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #1d2433; color: #fff; }
header nav { display: flex; gap: 1rem; flex: 1; }
header a { color: #cfe0ff; }
header form.signout { display: flex; gap: .5rem; align-items: center; }
main { padding: 1rem 1.2rem 3rem; max-width: 1400px; }
h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid #e3e6eb; }
th { background: #eef1f5; font-weight: 600; }
td.amount, dd.amount { font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.urgent td { background: #fff4e5; }
code { font-size: .8rem; word-break: break-all; }
.code { font-family: ui-monospace, monospace; }
small { color: #5b6578; }
.empty { color: #5b6578; font-style: italic; }
.notice { background: #e7f6ec; border: 1px solid #9bd3ae; padding: .5rem .8rem; }
.problem { background: #fdecec; border: 1px solid #f0a5a5; padding: .5rem .8rem; }
form.filters, form.action { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .5rem 0; }
form.action textarea { min-width: 18rem; min-height: 2.4rem; }
form.signin { display: grid; gap: .5rem; max-width: 22rem; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; background: #fff; padding: .8rem; }
dl.summary dt { font-weight: 600; }
dl.summary dd { margin: 0; }
ol.tries { margin: 0; padding-left: 1.2rem; }
button { cursor: pointer; }
`;
