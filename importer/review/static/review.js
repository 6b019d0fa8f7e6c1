"use strict";
// The review page. Every cell is set as text (textContent), never as markup; the one piece of
// HTML taken from the server is the validation report's body, which escapes every cell.
(() => {
  const $ = (id) => document.getElementById(id);
  const make = (tag, props = {}, kids = []) => {
    const node = Object.assign(document.createElement(tag), props);
    for (const kid of kids) node.append(kid);
    return node;
  };
  let state = null;
  const rows = []; // per column: its controls and what the page does not edit (kept options)
  let timer = null;
  let latest = 0;

  async function call(path, body) {
    const init = body === undefined ? {} : {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
    };
    const answer = await fetch("api/" + path, init);
    const data = await answer.json().catch(() => ({error: answer.statusText}));
    if (!answer.ok) throw new Error(data.error || answer.statusText);
    return data;
  }

  // an answer of JSON lines: onLine hears each but the last ({"done": answer}), returned
  async function stream(path, body, onLine) {
    const answer = await fetch("api/" + path, {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
    });
    if (!answer.ok) throw new Error(await answer.text());
    const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) throw new Error("the answer stopped short");
      buffer += value;
      let at;
      while ((at = buffer.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffer.slice(0, at));
        buffer = buffer.slice(at + 1);
        if (line.done) return line.done;
        onLine(line);
      }
    }
  }

  function option(value, label, chosen) {
    return make("option", {value, textContent: label, selected: value === chosen});
  }

  function targetValue(choice) {
    if (choice.kind === "none") return "none";
    if (choice.kind === "property") return "property";
    return choice.kind + ":" + choice.field;
  }

  function targetSelect(id, name, choice) {
    const select = make("select", {id, "ariaLabel": name + ": feeds"});
    const value = targetValue(choice);
    select.append(option("none", "nothing", value));
    const t = state.targets;
    const group = (label, items) => select.append(make("optgroup", {label}, items));
    group("customer field", t.fields.map((f) => option("field:" + f, "field " + f, value)));
    group("entry", Object.keys(t.entries).map((e) => option("entry:" + e, "entry " + e, value)));
    group("address", t.address.map((p) => option("address:" + p, "address " + p, value)));
    group("property", [option("property", "property", value)]);
    if (choice.kind === "field" && !t.fields.includes(choice.field)) {
      select.append(option(value, "field " + choice.field, value));
    }
    return select;
  }

  function typeSelect(id, name, column, choice) {
    const select = make("select", {id, "ariaLabel": name + ": entry type"});
    const chosen = typeof choice.type === "object" && choice.type ? "col:" + choice.type.column
      : (choice.type || "");
    select.append(option("", "default type", chosen));
    for (const kind of new Set(Object.values(state.targets.entries).flat())) {
      select.append(option(kind, "type " + kind, chosen));
    }
    const others = state.columns.map((c) => c.name).filter((c) => c !== column);
    select.append(make("optgroup", {label: "type from the column"},
      others.map((c) => option("col:" + c, "type from " + c, chosen))));
    return select;
  }

  function optionsEditor(i, name, options) {
    const box = make("details", {className: "options"});
    box.append(make("summary", {textContent: "options"}));
    const chosen = new Set(options.transform || []);
    const transforms = state.targets.transforms.map((t) => make("label", {}, [
      make("input", {type: "checkbox", id: `tr-${i}-${t}`, value: t, checked: chosen.has(t)}), t,
    ]));
    const lines = (object) => Object.entries(object || {}).map(([k, v]) => `${k} => ${v ?? ""}`)
      .join("\n");
    box.append(
      make("div", {className: "controls"}, ["transform: ", ...transforms]),
      make("label", {}, ["null values ", make("input", {id: `nv-${i}`, size: 16,
        value: (options.null_values || []).join(", "), "ariaLabel": name + ": null values"})]),
      make("label", {}, [" on invalid ", (() => {
        const s = make("select", {id: `oi-${i}`, "ariaLabel": name + ": on invalid"});
        for (const v of ["", "error", "drop"]) s.append(option(v, v || "default", options.on_invalid || ""));
        return s;
      })()]),
      make("label", {}, [" default ", make("input", {id: `df-${i}`, size: 8,
        value: options.default ?? "", "ariaLabel": name + ": default"})]),
      make("label", {className: "block"}, ["replace (pattern => text, one a line)",
        make("textarea", {id: `rp-${i}`, rows: 2, cols: 30, value: lines(options.replace)})]),
      make("label", {className: "block"}, ["map (value => value, one a line)",
        make("textarea", {id: `mp-${i}`, rows: 2, cols: 30, value: lines(options.map)})]),
    );
    return box;
  }

  function pairs(text) {
    const out = {};
    for (const line of text.split("\n")) {
      const at = line.indexOf("=>");
      if (at > 0) out[line.slice(0, at).trim()] = line.slice(at + 2).trim() || null;
    }
    return Object.keys(out).length ? out : null;
  }

  function choiceOf(i) {
    const row = rows[i];
    const target = row.target.value;
    if (target === "none") return {kind: "none"};
    const [kind, field] = target.split(":");
    const choice = {kind, field: field || ""};
    if (kind === "entry" && field !== "websites" && row.type.value) {
      const value = row.type.value;
      choice.type = value.startsWith("col:") ? {...(row.typeKept || {}), column: value.slice(4)}
        : value;
      if (typeof choice.type === "object" && row.typeKept && row.typeKept.column !== choice.type.column) {
        choice.type = {column: choice.type.column};
      }
    }
    if (kind === "address") choice.group = Math.max(0, (parseInt(row.group.value, 10) || 1) - 1);
    if (kind === "property") {
      choice.field = row.slug.value.trim();
      choice.type = row.ptype.value;
      // several formats, tried in order, are written a | b
      const formats = row.format.value.split("|").map((f) => f.trim()).filter(Boolean);
      if (choice.type === "date" && formats.length) choice.format = formats.length > 1 ? formats : formats[0];
    }
    const options = {...row.kept};
    // transforms run in order: the mapping's first, then any ticked here
    const rank = (t) => (row.order.includes(t) ? row.order.indexOf(t) : row.order.length);
    const transform = [...row.node.querySelectorAll("input[type=checkbox]:checked")]
      .map((c) => c.value).sort((a, b) => rank(a) - rank(b));
    const set = (key, value) => { if (value) options[key] = value; };
    set("transform", transform.length ? transform : null);
    set("null_values", row.nulls.value.split(",").map((v) => v.trim()).filter(Boolean));
    if (!options.null_values?.length) delete options.null_values;
    set("on_invalid", row.onInvalid.value);
    set("default", row.fallback.value.trim());
    set("replace", pairs(row.replace.value));
    set("map", pairs(row.map.value));
    if (Object.keys(options).length) choice.options = options;
    return choice;
  }

  function showControls(i) {
    const row = rows[i];
    const [kind, field] = row.target.value.split(":");
    row.type.hidden = !(kind === "entry" && field !== "websites");
    const types = state.targets.entries[field] || [];
    for (const item of row.type.options) {
      if (item.value && !item.value.startsWith("col:")) item.hidden = item.disabled = !types.includes(item.value);
    }
    if (row.type.selectedOptions[0]?.disabled) row.type.value = "";
    row.group.hidden = kind !== "address";
    row.slug.hidden = row.ptype.hidden = kind !== "property";
    row.format.hidden = !(kind === "property" && row.ptype.value === "date");
    row.optionsBox.hidden = kind === "none";
  }

  function columnRow(column, i) {
    const choice = column.choice;
    const options = choice.options || {};
    const name = column.name;
    const target = targetSelect(`target-${i}`, name, choice);
    const type = typeSelect(`type-${i}`, name, name, choice);
    const group = make("input", {id: `group-${i}`, type: "number", min: 1, size: 3,
      value: (choice.group || 0) + 1, "ariaLabel": name + ": address group"});
    // a property starts as the one init offered (commented out), else a text property
    const prop = choice.kind === "property" ? choice : (column.offered || {field: slugOf(name), type: "text"});
    const slug = make("input", {id: `slug-${i}`, size: 14, placeholder: "slug",
      value: prop.field, "ariaLabel": name + ": property slug"});
    const ptype = make("select", {id: `ptype-${i}`, "ariaLabel": name + ": property type"});
    for (const t of state.targets.property_types) ptype.append(option(t, t, prop.type));
    const format = make("input", {id: `format-${i}`, size: 10, placeholder: "%Y-%m-%d",
      value: [].concat(prop.format || []).join(" | "), "ariaLabel": name + ": date formats (a | b)"});
    const optionsBox = optionsEditor(i, name, options);
    const kept = {...options};
    for (const key of ["transform", "null_values", "on_invalid", "default", "replace", "map"]) delete kept[key];
    const head = make("th", {scope: "row"}, [make("span", {textContent: name})]);
    if (column.review) head.append(" ", make("span", {className: "badge review", textContent: "review"}));
    const fill = column.rows ? Math.round(100 * column.filled / column.rows) : 0;
    const feeds = make("td", {}, [make("span", {className: "feeds", textContent: describe(choice)})]);
    if (column.confidence) feeds.append(" ", make("span", {className: "badge " + column.confidence, textContent: column.confidence}));
    feeds.append(make("ul", {className: "evidence"}, column.evidence.map((e) => make("li", {textContent: e}))));
    const controls = make("div", {className: "controls"}, [target, type, group, slug, ptype, format]);
    const node = make("tr", {id: `column-${i}`, className: column.review ? "review" : ""}, [
      head,
      make("td", {textContent: `${fill}% of ${column.rows.toLocaleString("en")} rows`}),
      make("td", {}, [make("ul", {className: "values"}, column.values.map((v) => make("li", {textContent: v})))]),
      feeds,
      make("td", {}, [controls, optionsBox]),
    ]);
    rows[i] = {name, node, target, type, group, slug, ptype, format, optionsBox, kept,
      order: options.transform || [],
      typeKept: typeof choice.type === "object" ? choice.type : null, feeds: feeds.firstChild,
      nulls: optionsBox.querySelector(`#nv-${i}`), onInvalid: optionsBox.querySelector(`#oi-${i}`),
      fallback: optionsBox.querySelector(`#df-${i}`), replace: optionsBox.querySelector(`#rp-${i}`),
      map: optionsBox.querySelector(`#mp-${i}`), initial: JSON.stringify(choice)};
    node.addEventListener("input", () => changed(i));
    node.addEventListener("change", () => changed(i));
    return node;
  }

  function slugOf(name) {
    return name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "column";
  }

  function describe(choice) {
    if (choice.kind === "none") return "nothing";
    if (choice.kind === "entry") {
      const type = typeof choice.type === "object" && choice.type ? "type from " + choice.type.column : (choice.type || "");
      return `${choice.field} entry${type ? " (" + type + ")" : ""}`;
    }
    if (choice.kind === "address") return `address ${(choice.group || 0) + 1}: ${choice.field}`;
    if (choice.kind === "property") return `property ${choice.field} (${choice.type}${choice.format ? " " + choice.format : ""})`;
    return choice.field;
  }

  function changed(i) {
    showControls(i);
    rows[i].feeds.textContent = describe(choiceOf(i));
    $("overwrite").hidden = true;
    clearTimeout(timer);
    timer = setTimeout(preview, 150);
  }

  function choices() {
    const out = {};
    rows.forEach((row, i) => {
      const choice = choiceOf(i);
      if (JSON.stringify(choice) !== row.initial) out[row.name] = choice;
    });
    return {choices: out};
  }

  async function preview() {
    const asked = ++latest;
    let data;
    try {
      data = await call("preview", choices());
    } catch (error) {
      data = {error: error.message};
    }
    if (asked !== latest) return; // a later edit's answer is on its way
    $("error").hidden = !data.error;
    $("error").textContent = data.error || "";
    if (data.yaml !== undefined) $("yaml").textContent = data.yaml;
    const list = $("rows");
    list.replaceChildren();
    if (data.error) {
      $("invalid").replaceChildren();
      $("counts").textContent = "The mapping cannot be used as it is: see the message.";
      return;
    }
    $("counts").textContent = `${data.invalid} of the first ${data.checked} rows invalid`;
    $("counts").dataset.invalid = data.invalid;
    const issueList = (issues) => make("ul", {className: "issues"}, issues.map((x) => make("li", {}, [
      make("span", {className: "badge " + x.severity, textContent: x.severity}),
      ` ${x.rule}: ${x.message}` + (x.column ? ` (${x.column}${x.field && x.field !== x.column ? " → " + x.field : ""})` : ""),
      x.value ? make("code", {textContent: " " + x.value}) : "",
    ])));
    const invalid = $("invalid");
    invalid.replaceChildren(...data.invalid_rows.map((row) => make("div", {className: "payload"}, [
      make("b", {textContent: `row ${row.row} `}), issueList(row.issues),
    ])));
    for (const row of data.rows) {
      const body = row.payload ? Object.entries(row.payload).map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
        .join("\n") : "(not mapped: the row is ragged)";
      list.append(make("div", {className: "payload"}, [
        make("b", {textContent: `row ${row.row} `}),
        make("span", {className: "badge " + (row.valid ? "valid" : "invalid"), textContent: row.valid ? "valid" : "invalid"}),
        issueList(row.issues),
        make("pre", {textContent: body}),
      ]));
    }
  }

  async function act(button, work) {
    button.disabled = true;
    try {
      await work();
    } catch (error) {
      $("status").textContent = error.message;
    } finally {
      button.disabled = false;
    }
  }

  async function save(overwrite) {
    const data = await call("save", {...choices(), overwrite});
    $("status").textContent = data.error || data.message;
    $("overwrite").hidden = !data.exists;
    if (data.exists) $("overwrite").focus();
    if (data.saved) $("exists").textContent = "";
  }

  function render(data) {
    state = data;
    $("file").textContent = data.file;
    $("started").textContent = data.started;
    $("output").textContent = data.output;
    $("exists").textContent = data.output_exists ? " (it exists: saving asks before replacing it)" : "";
    $("system").textContent = data.source.system;
    const preset = $("preset");
    preset.replaceChildren(option("", "as recognised (or -m)", ""));
    for (const p of data.source.presets) preset.append(option(p, p, data.source.preset));
    $("encoding").value = data.source.encoding;
    $("delimiter").value = data.source.delimiter === "\t" ? "\\t" : data.source.delimiter;
    $("sheet").value = data.source.sheet;
    $("sheet").disabled = !data.source.sheet;  // a CSV has no sheets, a workbook no encoding
    $("encoding").disabled = $("delimiter").disabled = Boolean(data.source.sheet);
    $("warnings").replaceChildren(...data.source.warnings.map((w) => make("li", {textContent: w})));
    rows.length = 0;
    $("columns").tBodies[0].replaceChildren(...data.columns.map(columnRow));
    rows.forEach((_, i) => showControls(i));
    $("yaml").textContent = data.yaml;
    preview();
  }

  $("reread").addEventListener("click", () => act($("reread"), async () => {
    const given = (id) => ($(id).disabled ? "" : $(id).value);
    const delimiter = given("delimiter") === "\\t" ? "\t" : given("delimiter");
    render(await call("source", {encoding: given("encoding"), delimiter, sheet: given("sheet"),
                                   preset: $("preset").value}));
    $("status").textContent = "Read again.";
  }));
  $("check").addEventListener("click", () => act($("check"), async () => {
    $("status").textContent = "Checking every row…";
    const data = await stream("check", choices(), (line) => {
      $("status").textContent = `Checking every row… ${line.checked.toLocaleString("en")} so far`;
    });
    if (data.error) {
      $("status").textContent = data.error;
      return;
    }
    $("report").innerHTML = data.html; // the report's own escaping: every cell is text
    $("status").textContent = `All ${data.rows} rows checked: ${data.valid} valid, ${data.invalid} invalid.`;
  }));
  $("save").addEventListener("click", () => act($("save"), () => save(false)));
  $("overwrite").addEventListener("click", () => act($("overwrite"), () => save(true)));
  $("done").addEventListener("click", () => act($("done"), async () => {
    await call("done", {});
    $("status").textContent = "Done: the server has stopped; this tab can be closed.";
  }));
  call("state").then(render, (error) => { $("status").textContent = error.message; });
})();
