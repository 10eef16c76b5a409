/// `style.css`, shared by every page. No external fonts or images; sprite URLs live in each
/// page's own `<style>` (they differ per page).
enum Stylesheet {
    static let css = """
    :root { --ink: #1d2228; --muted: #66707a; --rule: #d9dde2; --paper: #ffffff; --shade: #f4f6f8; --accent: #2f5d8a;
            --dead: #c62828; --collapsed: #7b1fa2; --dormant: #e65100; --dominant: #1565c0; --aliased: #00796b; }
    * { box-sizing: border-box; }
    body { margin: 0 auto; max-width: 1400px; padding: 12px 24px 40px; color: var(--ink); background: var(--paper);
           font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    h1 { font-size: 1.6em; margin: 0.2em 0; word-break: break-all; }
    h2 { font-size: 1.25em; margin: 1.6em 0 0.5em; border-bottom: 1px solid var(--rule); padding-bottom: 3px; }
    h3 { font-size: 1em; margin: 0 0 4px; }
    a { color: var(--accent); }
    code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em; }
    .subtitle, .muted, footer { color: var(--muted); }
    .crumbs { font-size: 0.9em; color: var(--muted); }
    ol.diagnoses li { margin: 6px 0; } .severity { color: #fff; padding: 0 6px; border-radius: 3px; font-weight: 600; }
    .severity.problem { background: var(--dead); } .severity.warning { background: var(--dormant); } .severity.info { background: var(--dominant); }
    .note { background: var(--shade); border-left: 3px solid var(--rule); padding: 6px 10px; }
    .warning { background: #fff4e5; border-left: 3px solid #d9822b; padding: 6px 10px; }
    footer { margin-top: 3em; font-size: 0.85em; border-top: 1px solid var(--rule); }

    table { border-collapse: collapse; margin: 6px 0; }
    th, td { border: 1px solid var(--rule); padding: 3px 8px; text-align: left; vertical-align: top; }
    thead th, th.col { background: var(--shade); }
    td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
    td.zero { color: #b0b6bc; }
    td.below { color: var(--dormant); font-weight: 600; }
    dl.kv { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
    dl.kv dt { color: var(--muted); }
    dl.kv dd { margin: 0; }

    .status { display: inline-block; padding: 0 8px; border-radius: 9px; background: var(--shade); font-weight: 600; }
    .status.running { background: #fff3cd; } .status.finished { background: #d7f0dc; }
    .status.failed, .status.interrupted { background: #f8d7da; }

    /* Flags: one colour per diagnostic, used for badges, outlines and table counts. */
    .badge { display: inline-block; padding: 0 6px; border-radius: 8px; color: #fff; font-size: 0.8em; font-weight: 600; margin-left: 3px; }
    .badge.dead, .count.dead { background: var(--dead); } .badge.collapsed, .count.collapsed { background: var(--collapsed); }
    .badge.dormant, .count.dormant { background: var(--dormant); } .badge.dominant, .count.dominant { background: var(--dominant); }
    .badge.aliased, .count.aliased { background: var(--aliased); }
    a.count { display: inline-block; min-width: 2em; text-align: center; color: #fff; border-radius: 8px; text-decoration: none; font-weight: 600; }
    .flag-dead { outline: 3px solid var(--dead); } .flag-collapsed { outline: 3px solid var(--collapsed); }
    .flag-dormant { outline: 3px solid var(--dormant); } .flag-dominant { outline: 3px solid var(--dominant); }
    .flag-aliased { outline: 3px dashed var(--aliased); }
    ul.reasons { margin: 4px 0 0; padding-left: 16px; font-size: 0.88em; }
    ul.reasons li.dead { color: var(--dead); } ul.reasons li.collapsed { color: var(--collapsed); }
    ul.reasons li.dormant { color: var(--dormant); } ul.reasons li.dominant { color: var(--dominant); }
    ul.reasons li.aliased { color: var(--aliased); }

    /* Sprite tiles: CSS upscales small images; keep every pixel square and sharp. */
    .tile { display: block; background-repeat: no-repeat; image-rendering: crisp-edges; image-rendering: pixelated; }
    .vs { align-self: start; } .ve { align-self: end; } .hs { justify-self: start; } .he { justify-self: end; }
    .grid { display: grid; gap: 3px; place-items: center; background: var(--shade); padding: 3px; }
    .epochnav { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin: 8px 0; }
    .epochnav .disabled { color: #b0b6bc; }

    /* Fig. 2 view: one figure per feature map, projections beside their image patches. */
    .filters { display: flex; flex-wrap: wrap; gap: 14px; }
    figure.filter { margin: 0; padding: 8px; border: 1px solid var(--rule); border-radius: 4px; width: min-content; min-width: 16em; max-width: 100%; }
    figure.filter .pair { display: flex; gap: 8px; align-items: flex-start; }
    figure.filter .label { font-size: 0.75em; color: var(--muted); text-align: center; }
    figure.filter figcaption { font-size: 0.85em; margin-top: 4px; }
    ol.acts { margin: 2px 0; padding-left: 22px; columns: 2; column-gap: 14px; white-space: nowrap; }
    p.numbers { margin: 2px 0; color: var(--muted); }

    /* Fig. 4 view: feature maps down, epochs across. */
    table.evolution td { padding: 3px; }
    table.evolution td a { display: grid; place-items: center; }
    table.evolution td.missing { background: var(--shade); }
    table.evolution td .blank { color: var(--muted); font-size: 0.8em; }

    figure.chart { display: inline-block; margin: 0 16px 8px 0; }
    figure.chart figcaption { text-align: center; color: var(--muted); }
    svg .grid { stroke: #e6e9ec; } svg .axis { stroke: var(--ink); }
    svg text { font-size: 11px; fill: var(--ink); } svg .tick { fill: var(--muted); } svg .label { font-size: 12px; }
    svg .series polyline { fill: none; stroke-width: 2; } svg .series line { stroke-width: 2; }
    svg .series-a polyline, svg .series-a line { stroke: #2f5d8a; } svg .series-a circle { fill: #2f5d8a; }
    svg .series-b polyline, svg .series-b line { stroke: #d9822b; } svg .series-b circle { fill: #d9822b; }
    svg .series-b polyline { stroke-dasharray: 5 3; }
    svg .series-c polyline, svg .series-c line { stroke: #3a8a4f; } svg .series-c circle { fill: #3a8a4f; }
    svg .series-d polyline, svg .series-d line { stroke: #a23b72; } svg .series-d circle { fill: #a23b72; }
    svg .series-e polyline, svg .series-e line { stroke: #6b5bd2; } svg .series-e circle { fill: #6b5bd2; }
    svg .series-f polyline, svg .series-f line { stroke: #8a6d3b; } svg .series-f circle { fill: #8a6d3b; }
    svg .series-g polyline, svg .series-g line { stroke: #1f9aa6; } svg .series-g circle { fill: #1f9aa6; }
    svg .series-h polyline, svg .series-h line { stroke: #555; } svg .series-h circle { fill: #555; }
    svg .series-d polyline, svg .series-f polyline, svg .series-h polyline { stroke-dasharray: 5 3; }
    table.confusion td, table.confusion th { padding: 2px 6px; font-size: 0.85em; }
    tr.class-row[hidden] { display: none; }
    input.filter { font: inherit; padding: 3px 6px; margin: 4px 0 8px; width: 18em; }

    .howto p, .howto li { max-width: 60em; }

    /* Occlusion (Fig. 7 view). */
    table.occlusion td { vertical-align: middle; }
    td.facts { font-size: 0.88em; min-width: 16em; }
    .legend p { margin: 4px 0; }
    .ramp { display: inline-block; width: 160px; height: 12px; vertical-align: middle; border: 1px solid var(--rule); }
    .swatch { display: inline-block; margin-right: 10px; white-space: nowrap; }
    .chip { display: inline-block; width: 12px; height: 12px; vertical-align: middle; border: 1px solid var(--rule); }
    """
}
