// Trend charts drawn from data the server put in a json_script element; a table with the same
// numbers always sits beside the chart. Time runs on a true time axis (points are
// [milliseconds, value]), so a gap of years looks like one.
(function () {
  "use strict";
  var COLOURS = { systolic: "#0d6efd", diastolic: "#6ea8fe", pulse: "#dc3545", respiration_rate: "#6f42c1",
                  spo2: "#198754", temperature: "#fd7e14", score: "#212529" };
  var DAY = 86400000;

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  // Tick labels the Danish way: time of day within two days, dd.mm within a year, else mm.yyyy.
  function timeAxis(points) {
    var xs = points.map(function (p) { return p[0]; });
    var min = Math.min.apply(null, xs), max = Math.max.apply(null, xs);
    if (min === max) { min -= DAY / 2; max += DAY / 2; }
    var span = max - min;
    return {
      type: "linear", min: min, max: max,
      ticks: {
        maxTicksLimit: 6, maxRotation: 0,
        callback: function (value) {
          var d = new Date(value);
          if (span <= 2 * DAY) { return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
          if (span <= 365 * DAY) { return pad(d.getDate()) + "." + pad(d.getMonth() + 1); }
          return pad(d.getMonth() + 1) + "." + d.getFullYear();
        }
      }
    };
  }

  function tooltipTitle(items) {
    var d = new Date(items[0].parsed.x);
    return pad(d.getDate()) + "." + pad(d.getMonth() + 1) + "." + d.getFullYear() + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function xy(points) { return points.map(function (p) { return { x: p[0], y: p[1] }; }); }

  // Vital signs: one small chart per unit.
  var vitals = document.getElementById("vitals-data");
  if (vitals && window.Chart) {
    var charts = JSON.parse(vitals.textContent).charts;
    document.querySelectorAll("canvas.vitals-chart").forEach(function (canvas) {
      var chart = charts[Number(canvas.getAttribute("data-chart-index"))];
      if (!chart) { return; }
      var all = [];
      var datasets = chart.series.map(function (s) {
        all = all.concat(s.points);
        var colour = COLOURS[s.key] || "#212529";
        return { label: s.label, data: xy(s.points), borderColor: colour, backgroundColor: colour,
                 tension: 0.2, pointRadius: 2 };
      });
      if (!all.length) { return; }
      new window.Chart(canvas, {
        type: "line",
        data: { datasets: datasets },
        options: {
          animation: false, parsing: false,
          interaction: { mode: "nearest", intersect: false },
          plugins: { tooltip: { callbacks: { title: tooltipTitle } } },
          scales: { x: timeAxis(all), y: { beginAtZero: chart.series[0].key === "score" } }
        }
      });
    });
  }

  // A laboratory trend: the values as a line, the reference interval as a shaded band.
  var element = document.getElementById("trend-data");
  var canvas = document.getElementById("trend-chart");
  if (!element || !canvas || !window.Chart) { return; }
  var data = JSON.parse(element.textContent);
  var datasets = [{ label: data.name + (data.unit ? " (" + data.unit + ")" : ""), data: xy(data.points),
                    borderColor: "#0d6efd", backgroundColor: "#0d6efd", pointRadius: 2, tension: 0.1 }];
  var axis = timeAxis(data.points);
  if (data.low !== null && data.high !== null) {
    var edges = [axis.min, axis.max];
    datasets.push({ label: "ref. low", data: edges.map(function (x) { return { x: x, y: data.low }; }),
                    borderColor: "rgba(25,135,84,0.4)", pointRadius: 0, borderWidth: 1, fill: false });
    datasets.push({ label: "ref. high", data: edges.map(function (x) { return { x: x, y: data.high }; }),
                    borderColor: "rgba(25,135,84,0.4)", pointRadius: 0, borderWidth: 1,
                    backgroundColor: "rgba(25,135,84,0.12)", fill: "-1" });
  }
  new window.Chart(canvas, {
    type: "line",
    data: { datasets: datasets },
    options: { animation: false, parsing: false, interaction: { mode: "nearest", intersect: false },
               scales: { x: axis },
               plugins: { tooltip: { callbacks: { title: tooltipTitle } },
                          legend: { labels: { filter: function (item) { return item.text.indexOf("ref.") !== 0; } } } } }
  });
})();
