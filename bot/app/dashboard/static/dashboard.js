// Progressive enhancement: the 30-day chart (the page has the same figures as a table) and the
// Mini App sign-in (Telegram passes its signed initData in the URL fragment).
(function () {
  "use strict";

  function readJson(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function drawChart() {
    var box = document.getElementById("chart");
    var data = readJson("chart-data");
    var labels = readJson("chart-labels") || {};
    if (!box || !data || box.dataset.drawn || typeof uPlot === "undefined") return;
    box.dataset.drawn = "1";
    var xs = data.days.map(function (day) { return Date.parse(day + "T12:00:00Z") / 1000; });
    var colours = { checkins: "#0b6bcb", visitors: "#137333", active: "#b26a00" };
    var series = [{}];
    var values = [xs];
    Object.keys(labels).forEach(function (key) {
      if (!data[key]) return;
      series.push({ label: labels[key], stroke: colours[key], width: 2, points: { show: xs.length < 40 } });
      values.push(data[key]);
    });
    var width = function () { return Math.max(280, box.clientWidth); };
    var plot = new uPlot({
      width: width(),
      height: 260,
      series: series,
      axes: [{}, { size: 60 }],
      scales: { x: { time: true } },
      legend: { live: false },
    }, values, box);
    window.addEventListener("resize", function () { plot.setSize({ width: width(), height: 260 }); });
  }

  function miniAppSignIn() {
    var form = document.getElementById("miniapp");
    if (!form) return;
    var fragment = new URLSearchParams(window.location.hash.slice(1));
    var initData = fragment.get("tgWebAppData");
    if (!initData) return;
    form.elements.init_data.value = initData;
    form.submit();
  }

  function ready() {
    drawChart();
    miniAppSignIn();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
  document.addEventListener("htmx:afterSettle", drawChart);
})();
