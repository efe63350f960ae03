// The analytics dashboard: draws each chart from the table the page embeds (json_script
// "dashboard-data"), the same table its CSV/XLSX download sends. No inline script (CSP).
(function () {
  "use strict";

  var source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var tables = data.tables;
  var charts = [];

  function toolbox() {
    return {
      feature: { saveAsImage: { title: data.labels.save, pixelRatio: 2 } },
      right: 8
    };
  }

  function base(title) {
    return {
      animation: false,
      // Tooltips drawn on the canvas: the HTML ones carry inline styles, which the CSP refuses.
      tooltip: { renderMode: "richText", trigger: "axis" },
      toolbox: toolbox(),
      grid: { left: 48, right: 24, top: 48, bottom: 56, containLabel: true },
      title: { show: false, text: title }
    };
  }

  function column(table, index) {
    return table.rows.map(function (row) { return row[index]; });
  }

  function bars(table, labelIndex, valueIndex) {
    var rows = table.rows.slice().reverse(); // largest at the top
    var option = base(table.title);
    option.yAxis = { type: "category", data: rows.map(function (r) { return String(r[labelIndex]); }) };
    option.xAxis = { type: "value", minInterval: 1 };
    option.series = [{ type: "bar", data: rows.map(function (r) { return r[valueIndex]; }), name: table.columns[valueIndex] }];
    return option;
  }

  function pie(table, labelIndex, valueIndex) {
    var option = base(table.title);
    option.tooltip = { renderMode: "richText", trigger: "item" };
    option.legend = { bottom: 0, type: "scroll" };
    option.series = [{
      type: "pie",
      radius: ["35%", "65%"],
      name: table.columns[valueIndex],
      data: table.rows.map(function (r) { return { name: String(r[labelIndex]), value: r[valueIndex] }; })
    }];
    return option;
  }

  function trend(table) {
    var option = base(table.title);
    option.legend = { bottom: 0 };
    option.xAxis = { type: "category", data: column(table, 0) };
    option.yAxis = { type: "value", minInterval: 1 };
    option.series = table.columns.slice(1).map(function (name, i) {
      return { type: "line", name: name, data: column(table, i + 1), showSymbol: table.rows.length < 60 };
    });
    return option;
  }

  var builders = {
    trend: trend,
    topics: function (t) { return bars(t, 1, 2); },
    divisions: function (t) { return bars(t, 1, 2); },
    organs: function (t) { return bars(t, 0, 1); },
    channels: function (t) { return pie(t, 1, 2); },
    overdue: function (t) { return bars(t, 0, 1); },
    open: function (t) { return pie(t, 0, 1); }
  };

  function draw(el, option, empty) {
    el.style.height = "320px";
    el.style.width = "100%";
    var chart = echarts.init(el, null, { renderer: "canvas" });
    if (empty) {
      option.graphic = { type: "text", left: "center", top: "middle", style: { text: "—", fontSize: 24 } };
    }
    chart.setOption(option);
    el.dataset.rendered = "1";
    charts.push(chart);
  }

  // The map: only where the deployment holds division boundaries (data.boundaries is their URL);
  // features are named by division code, rows are [code, name, registered].
  function divisionMap(el, table) {
    fetch(data.boundaries, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("boundaries: HTTP " + response.status); }
        return response.json();
      })
      .then(function (geo) {
        echarts.registerMap("divisions", geo);
        var names = {};
        var max = 1;
        table.rows.forEach(function (r) { names[r[0]] = r[1]; max = Math.max(max, r[2]); });
        var option = base(table.title);
        delete option.grid;
        option.tooltip = {
          renderMode: "richText",
          trigger: "item",
          formatter: function (p) { return (names[p.name] || p.name) + ": " + (p.value || 0); }
        };
        option.visualMap = { min: 0, max: max, calculable: true, left: 8, bottom: 8 };
        option.series = [{
          type: "map",
          map: "divisions",
          name: table.columns[2],
          data: table.rows.map(function (r) { return { name: String(r[0]), value: r[2] }; })
        }];
        draw(el, option, table.rows.length === 0);
      })
      .catch(function (error) {
        el.dataset.error = String(error);
      });
  }

  document.querySelectorAll("[data-table]").forEach(function (el) {
    var name = el.dataset.table;
    var table = tables[name];
    if (name === "division_map" && table && data.boundaries) {
      divisionMap(el, table);
    } else if (table && builders[name]) {
      draw(el, builders[name](table), table.rows.length === 0);
    }
  });

  var suggestions = document.querySelector("[data-suggestions]");
  if (suggestions) {
    var rows = data.suggestions_by_topic.map(function (r) { return [r.topic || "—", r.count]; });
    var table = { title: suggestions.getAttribute("aria-label"), columns: ["topic", "count"], rows: rows };
    draw(suggestions, bars(table, 0, 1), rows.length === 0);
  }

  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
