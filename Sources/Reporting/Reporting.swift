// Reporting: the static HTML report, PNG sprites and SVG charts; reads monitor data only.
