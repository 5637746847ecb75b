// Trend charts drawn from data the server put in a json_script element; a table with the same
// numbers always sits beside the chart.
(function () {
  "use strict";
  var element = document.getElementById("vitals-data");
  var canvas = document.getElementById("vitals-chart");
  if (!element || !canvas || !window.Chart) { return; }
  var data = JSON.parse(element.textContent);
  var s = data.series;
  function line(label, values, color, axis) {
    return { label: label, data: values, borderColor: color, backgroundColor: color,
             yAxisID: axis || "y", tension: 0.2, pointRadius: 2 };
  }
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        line("BT sys", s.systolic, "#0d6efd"),
        line("BT dia", s.diastolic, "#6ea8fe"),
        line("P", s.pulse, "#dc3545"),
        line("SAT", s.spo2, "#198754"),
        line("RF", s.respiration_rate, "#6f42c1"),
        line("T", s.temperature, "#fd7e14", "temperature"),
        line("NEWS2", s.score, "#212529", "score")
      ]
    },
    options: {
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        y: { position: "left", suggestedMin: 0, suggestedMax: 200 },
        temperature: { position: "right", suggestedMin: 34, suggestedMax: 41, grid: { drawOnChartArea: false } },
        score: { position: "right", min: 0, suggestedMax: 12, grid: { drawOnChartArea: false } }
      }
    }
  });
})();

// A laboratory trend: the values as a line, the reference interval as a shaded band.
(function () {
  "use strict";
  var element = document.getElementById("trend-data");
  var canvas = document.getElementById("trend-chart");
  if (!element || !canvas || !window.Chart) { return; }
  var data = JSON.parse(element.textContent);
  var datasets = [{ label: data.name + (data.unit ? " (" + data.unit + ")" : ""), data: data.values,
                    borderColor: "#0d6efd", backgroundColor: "#0d6efd", pointRadius: 2, tension: 0.1 }];
  if (data.low !== null && data.high !== null) {
    var low = data.values.map(function () { return data.low; });
    var high = data.values.map(function () { return data.high; });
    datasets.push({ label: "ref. low", data: low, borderColor: "rgba(25,135,84,0.4)", pointRadius: 0, borderWidth: 1, fill: false });
    datasets.push({ label: "ref. high", data: high, borderColor: "rgba(25,135,84,0.4)", pointRadius: 0, borderWidth: 1,
                    backgroundColor: "rgba(25,135,84,0.12)", fill: "-1" });
  }
  new window.Chart(canvas, {
    type: "line",
    data: { labels: data.labels, datasets: datasets },
    options: { animation: false, interaction: { mode: "index", intersect: false },
               plugins: { legend: { labels: { filter: function (item) { return item.text.indexOf("ref.") !== 0; } } } } }
  });
})();
