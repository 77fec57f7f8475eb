/* The cockpit's charts (ECharts, served from this site: CSP script-src 'self'). The figures are
   the page's tables (json_script); a click on a region's bar opens that region's cockpit. */
(function () {
  "use strict";
  function draw() {
    var data = JSON.parse(document.getElementById("cockpit-data").textContent);
    var base = document.getElementById("cockpit-base");
    var year = base.getAttribute("data-year");
    var url = base.getAttribute("data-url");
    var money = function (v) { return Number(v).toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2}); };
    var col = function (t, i) { return t.rows.map(function (r) { return r[i]; }); };
    var baseOpt = function (t) {
      return {tooltip: {trigger: "axis"}, legend: {top: 0}, grid: {left: 60, right: 60, top: 40, bottom: 40, containLabel: true}};
    };
    var specs = {
      monthly: function (t) {
        var o = baseOpt(t);
        o.xAxis = {type: "category", data: col(t, 0)};
        o.yAxis = [{type: "value", name: "件"}, {type: "value", name: "元"}];
        o.series = [
          {name: t.headers[1], type: "bar", data: col(t, 1)},
          {name: t.headers[2], type: "bar", data: col(t, 2)},
          {name: t.headers[4], type: "line", yAxisIndex: 1, data: col(t, 4), smooth: true},
          {name: t.headers[5], type: "line", yAxisIndex: 1, data: col(t, 5), smooth: true}];
        return o;
      },
      premium: function (t) {
        var o = baseOpt(t);
        o.xAxis = {type: "category", data: col(t, 0)};
        o.yAxis = {type: "value", name: "元"};
        o.series = [{name: t.headers[1], type: "bar", data: col(t, 1)},
                    {name: t.headers[2], type: "bar", data: col(t, 2)}];
        return o;
      },
      region: function (t) {
        var o = baseOpt(t);
        o.xAxis = {type: "category", data: col(t, 0), axisLabel: {interval: 0, rotate: t.rows.length > 8 ? 30 : 0}};
        o.yAxis = [{type: "value", name: "人"}, {type: "value", name: "元"}];
        o.series = [
          {name: t.headers[1], type: "bar", data: col(t, 1)},
          {name: t.headers[2], type: "scatter", symbol: "rect", symbolSize: [18, 3], data: col(t, 2)},
          {name: t.headers[3], type: "line", yAxisIndex: 1, data: col(t, 3)},
          {name: t.headers[4], type: "line", yAxisIndex: 1, data: col(t, 4)}];
        return o;
      },
      product: function (t) {
        return {tooltip: {trigger: "item", formatter: function (p) { return p.name + "：" + money(p.value) + " 元（" + p.percent + "%）"; }},
                legend: {top: 0},
                series: [{name: t.headers[3], type: "pie", radius: ["35%", "65%"], top: 30,
                          data: t.rows.map(function (r) { return {name: r[0], value: r[3]}; })}]};
      },
      waiting_hist: function (t) {
        var o = baseOpt(t);
        o.xAxis = {type: "category", name: "工作日", data: col(t, 0)};
        o.yAxis = {type: "value", name: "件"};
        o.series = [{name: t.headers[1], type: "bar", data: col(t, 1)},
                    {name: t.headers[2], type: "bar", data: col(t, 2)}];
        return o;
      },
      top: function (t) {
        var rows = t.rows.slice().reverse();
        return {tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
                grid: {left: 10, right: 40, top: 10, bottom: 20, containLabel: true},
                xAxis: {type: "value", name: "件"},
                yAxis: {type: "category", data: rows.map(function (r) { return r[0]; })},
                series: [{name: t.headers[1], type: "bar", data: rows.map(function (r) { return r[1]; })}]};
      }
    };
    specs.top_hospital = specs.top;
    specs.top_diagnosis = specs.top;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var key = el.getAttribute("data-chart");
      var t = data[key];
      if (!t || !specs[key]) { return; }
      if (!t.rows.length) { el.textContent = "暂无数据"; el.style.height = "auto"; return; }
      var chart = echarts.init(el);
      chart.setOption(specs[key](t));
      if (key === "region") {
        chart.on("click", function (p) {
          var id = t.links[p.dataIndex];
          if (id) { window.location.href = url.replace("/0/", "/" + id + "/") + "?year=" + year; }
        });
      }
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
