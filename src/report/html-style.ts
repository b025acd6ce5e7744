/** The page's stylesheet: system fonts only (no web font to fetch), light and dark, readable from phone to desktop. */
export const PAGE_CSS = `
:root { --bg:#fbfbfd; --fg:#1d2330; --dim:#6b7280; --card:#fff; --line:#e3e6ec; --ok:#2f9e5b; --fail:#d64545; --retried:#7b5cd6;
  --blocked:#e3a21a; --wait:#9aa3ad; --galph:#3b7dd8; --ralph:#1aa39a; --cost:#c2410c; --row:#f3f5f9; }
@media (prefers-color-scheme: dark) { :root { --bg:#12151b; --fg:#e6e9ef; --dim:#9aa3b2; --card:#1b2029; --line:#2c3340; --row:#181d25; } }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg); font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header, main, footer { max-width:1240px; margin:0 auto; padding:0 16px; }
header { padding-top:16px; }
h1 { font-size:22px; margin:0 0 4px; } h1 .branch { font-family:ui-monospace, Menlo, Consolas, monospace; font-weight:500; color:var(--dim); }
h2 { font-size:16px; margin:24px 0 8px; } h3 { margin:0 0 8px; font-size:15px; }
.period, .hint, .dim, footer { color:var(--dim); } footer { padding:24px 16px; font-size:12px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(300px, 1fr)); gap:12px; margin-top:12px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card dl { display:grid; grid-template-columns:max-content 1fr; gap:2px 12px; margin:0; } .card dt { color:var(--dim); } .card dd { margin:0; }
.ok { color:var(--ok); } .fail { color:var(--fail); } .phase.blocked { color:var(--blocked); } .phase.stale { color:var(--fail); }
.warn { background:#fff4d6; color:#6b4b00; border:1px solid #f0d58a; border-radius:6px; padding:8px 12px; }
.scroll { overflow-x:auto; -webkit-overflow-scrolling:touch; background:var(--card); border:1px solid var(--line); border-radius:8px; }
svg { display:block; width:100%; min-width:720px; height:auto; }
svg text { fill:var(--fg); font-size:12px; } svg .tick { fill:var(--dim); font-size:11px; } svg .label { font-weight:600; }
svg .grid { stroke:var(--line); } svg .lane { stroke:var(--line); stroke-dasharray:2 3; }
.bar.ok { fill:var(--ok); } .bar.fail { fill:var(--fail); } .bar.retried { stroke:var(--retried); stroke-width:2.5; } .bar.no-receipt { fill-opacity:.55; }
.bar:hover { filter:brightness(1.15); }
.blocked { fill:url(#hatch); } .blocked-bg { fill:var(--blocked); } .blocked-line { stroke:#fff8; stroke-width:3; }
.wait { fill:var(--wait); } .open { fill:none; stroke:var(--dim); stroke-dasharray:4 3; }
.dur.galph { fill:var(--galph); } .dur.ralph { fill:var(--ralph); }
.cost-line { fill:none; stroke:var(--cost); stroke-width:1.5; } .cost-dot { fill:var(--cost); } svg .tick.cost { fill:var(--cost); }
.legend { color:var(--dim); font-size:12px; display:flex; flex-wrap:wrap; gap:4px 14px; align-items:center; }
.key { display:inline-block; width:14px; height:10px; border-radius:2px; margin-right:4px; vertical-align:middle; }
.key.ok { background:var(--ok); } .key.fail { background:var(--fail); } .key.retried { border:2px solid var(--retried); }
.key.blocked { background:repeating-linear-gradient(45deg, var(--blocked) 0 3px, #fff8 3px 5px); } .key.wait { background:var(--wait); height:4px; }
.key.open { border:1px dashed var(--dim); } .key.galph { background:var(--galph); } .key.ralph { background:var(--ralph); } .key.cost { background:var(--cost); height:2px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); white-space:nowrap; vertical-align:top; }
th { position:sticky; top:0; background:var(--card); color:var(--dim); font-weight:600; }
tr.turn-row { cursor:pointer; } tr.turn-row:hover, tr.turn-row:focus { background:var(--row); outline:none; }
tr.turn-row[aria-expanded="true"] { background:var(--row); } tr.turn-row[data-outcome="fail"] td:first-child { box-shadow:inset 3px 0 var(--fail); }
tr.nocode td { color:var(--dim); }
tr.transcript td { white-space:normal; background:var(--row); }
tr.transcript pre { max-height:480px; overflow:auto; margin:6px 0; padding:10px; background:var(--card); border:1px solid var(--line); border-radius:6px;
  font:12px/1.4 ui-monospace, Menlo, Consolas, monospace; white-space:pre-wrap; word-break:break-word; }
.receipt { font-size:12px; color:var(--dim); margin:4px 0; }
code { font-family:ui-monospace, Menlo, Consolas, monospace; font-size:12px; }
ul.failures { padding-left:18px; } ul.failures li { margin:2px 0; }
@media (max-width: 600px) { body { font-size:13px; } h1 { font-size:18px; } .cards { grid-template-columns:1fr; }
  svg { min-width:640px; } svg text { font-size:20px; } svg .tick { font-size:18px; } }
`;
