"""The HTML of the residents' station page (api.public_stations): server-rendered, no
script, readable on a phone, Japanese first with English beside it. Jinja2 escapes
every value (station and river names come from the registry)."""

from __future__ import annotations

from jinja2 import Environment

TEMPLATE = """<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ title.ja }} / {{ title.en }}</title>
<style>
body{font-family:system-ui,"Hiragino Sans","Noto Sans JP",sans-serif;margin:0 auto;
max-width:48rem;padding:.75rem;line-height:1.5;color:#111;background:#fff}
h1{font-size:1.25rem;margin:.25rem 0}h2{font-size:1.05rem;margin:1.25rem 0 .25rem}
.en{color:#444;font-size:.9em}.note{background:#fff3cd;border:1px solid #d39e00;padding:.5rem}
ol{list-style:none;padding:0;margin:0}li{border-bottom:1px solid #ccc;padding:.5rem 0}
.level{font-weight:bold;padding:0 .3rem;border-radius:.2rem;color:#fff;background:#666}
.l5{background:#000}.l4{background:#7b1fa2}.l3{background:#c62828}.l2{background:#f9a825;
color:#000}.nodata{background:#fff;color:#000;border:2px dashed #555}
.where{font-weight:bold}
</style>
</head>
<body>
<h1>{{ title.ja }}<br><span class="en">{{ title.en }}</span></h1>
<p>{{ asked.ja }}<br><span class="en">{{ asked.en }}</span></p>
<p>更新 {{ now }}（日本時間）<span class="en"> / Updated {{ now }} JST</span></p>
{% if not current %}<p class="note" role="alert">
最新の情報を受信できていません。表示は古い可能性があります。<br>
<span class="en">Live data is not being received: this page may be out of date.</span>
</p>{% endif %}
{% if rows %}<ol class="alerts">
{% for row in rows %}<li data-station="{{ row.station }}" data-level="{{ row.level }}">
<span class="level l{{ row.alert_level or 0 }}">{{ row.label.ja }}</span>
<span class="where">{{ row.river.ja }} {{ row.name.ja }}</span>（{{ row.municipality.ja }}）
{% if row.no_data %}<span class="level nodata">欠測</span>{% endif %}<br>
{{ row.value.ja }} {{ row.at }}<br>
<span class="en">{{ row.label.en }}: {{ row.name.en }}, {{ row.river.en }}
({{ row.municipality.en }}){% if row.no_data %} [NO DATA]{% endif %}.
{{ row.value.en }} {{ row.at }} JST</span></li>
{% endfor %}</ol>
{% else %}<p class="none">該当する観測所はありません。<br>
<span class="en">No station at this level.</span></p>
{% endif %}
{% if no_data %}<h2>欠測中の観測所（状況不明）<br>
<span class="en">Stations without data (state unknown, not safe)</span></h2>
<ol class="nodata-list">
{% for row in no_data %}<li data-station="{{ row.station }}" data-no-data="true">
<span class="level nodata">欠測 / No data</span>
<span class="where">{{ row.river.ja }} {{ row.name.ja }}</span>（{{ row.municipality.ja }}）
<span class="en">{{ row.name.en }}, {{ row.river.en }} ({{ row.municipality.en }})</span><br>
最後の観測 {{ row.at or "なし" }}<span class="en"> / Last reading {{ row.at or "none" }}</span></li>
{% endfor %}</ol>{% endif %}
<p>川や水路に近づかず、自治体の避難情報に従ってください。<br>
<span class="en">Keep away from rivers and follow your municipality's evacuation
information.</span></p>
</body>
</html>
"""

PAGE = Environment(autoescape=True, trim_blocks=True).from_string(TEMPLATE)
