"""Maps in LLB1 (docs/API.md, "Binary results (LLB1)"): the page's decoder against blobs and
record streams built by hand from the spec, and the map routes drawn over LLB1 or SSE."""

from __future__ import annotations

import json
import re
import struct

import httpx
from playwright.sync_api import Page, Route, expect

from tests.browser.test_page import open_page

# Imports the page's own modules (the versioned URLs it preloads) and an LLB1 writer that
# follows the spec byte for byte: "LLB1", uint32 LE header length, the JSON header padded
# with spaces to a multiple of 8, then each array at a multiple of 8, little-endian.
HARNESS = """
window.llb1 = async () => {
  const url = (name) =>
    document.querySelector(`link[rel=modulepreload][href$="/js/${name}"]`).href;
  const binary = await import(url('binary.js'));
  const maps = await import(url('maps.js'));
  const SIZE = {float32: 4, float64: 8, int32: 4, int8: 1};
  const SET = {float32: 'setFloat32', float64: 'setFloat64', int32: 'setInt32', int8: 'setInt8'};
  const pad = (n) => (8 - (n % 8)) % 8;
  // arrays: [path, {dtype, shape, values}]; path: keys from the header's root.
  const blob = (answer, arrays) => {
    let start = 8;
    for (;;) {
      const header = structuredClone(answer);
      let at = start;
      const placed = arrays.map(([path, a]) => {
        const ref = {$array: {dtype: a.dtype, shape: a.shape, offset: at}};
        let node = header;
        for (const key of path.slice(0, -1)) node = node[key];
        node[path[path.length - 1]] = ref;
        const offset = at;
        at += a.values.length * SIZE[a.dtype];
        at += pad(at);
        return [offset, a];
      });
      const text = new TextEncoder().encode(JSON.stringify(header));
      if (8 + text.length > start) {
        start = 8 + text.length + pad(8 + text.length);
        continue;
      }
      const bytes = new Uint8Array(at);
      bytes.set([0x4c, 0x4c, 0x42, 0x31]);
      const view = new DataView(bytes.buffer);
      view.setUint32(4, start - 8, true);
      bytes.fill(0x20, 8, start);
      bytes.set(text, 8);
      for (const [offset, a] of placed) {
        a.values.forEach((v, k) => view[SET[a.dtype]](offset + k * SIZE[a.dtype], v, true));
      }
      return bytes;
    }
  };
  const record = (kind, payload) => {
    const bytes = new Uint8Array(5 + payload.length);
    bytes[0] = kind.charCodeAt(0);
    new DataView(bytes.buffer).setUint32(1, payload.length, true);
    bytes.set(payload, 5);
    return bytes;
  };
  const json = (value) => new TextEncoder().encode(JSON.stringify(value));
  const concat = (parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  // Plain JSON-able values: typed rows become Arrays, NaN becomes the string "NaN".
  const plain = (v) => {
    if (ArrayBuffer.isView(v) || Array.isArray(v)) return Array.from(v, plain);
    if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    }
    return v;
  };
  // A 2 x 3 map as the server sends it: nulls are NaN (floats) and -1 (steps).
  const NaN_ = Number.NaN;
  const mapBlob = () => blob(
    {x: [0, 0.5, 1], y: [-1, 1], minima: [{x: 0, y: 0, loss: 0, kind: 'global'}],
     stability_boundary: null},
    [
      [['outcome'], {dtype: 'int32', shape: [2, 3], values: [0, -1, -2, 0, 0, 0]}],
      [['final_loss'], {dtype: 'float32', shape: [2, 3], values: [0.5, NaN_, 1024, 2.25, 0, 1]}],
      [['steps_to_converge'], {dtype: 'int32', shape: [2, 3], values: [10, -1, -1, 4, 3, 7]}],
      [['final_x'], {dtype: 'float32', shape: [2, 3], values: [0, NaN_, 0.25, 0, 0, 0]}],
      [['final_y'], {dtype: 'float32', shape: [2, 3], values: [0, NaN_, -0.5, 0, 0, 0]}],
    ],
  );
  return {binary, maps, blob, record, json, concat, plain, mapBlob};
};
"""

MAP = {
    "x": [0, 0.5, 1],
    "y": [-1, 1],
    "minima": [{"x": 0, "y": 0, "loss": 0, "kind": "global"}],
    "stability_boundary": None,
    "outcome": [[0, -1, -2], [0, 0, 0]],
    "final_loss": [[0.5, None, 1024], [2.25, 0, 1]],
    "steps_to_converge": [[10, None, None], [4, 3, 7]],
    "final_x": [[0, None, 0.25], [0, 0, 0]],
    "final_y": [[0, None, -0.5], [0, 0, 0]],
}


def harness(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=20&run=SGD,lr=0.1")
    page.evaluate(HARNESS)


def test_an_llb1_blob_decodes_to_the_json_answer(page: Page, live_server: str) -> None:
    harness(page, live_server)
    result = page.evaluate(
        """async () => {
          const {binary, maps, blob, mapBlob, plain} = await window.llb1();
          const bytes = mapBlob();
          const map = maps.decodeMap(bytes);
          // Rows without nulls stay views of one typed array per grid (no copies).
          const views = ArrayBuffer.isView(map.outcome[0]) && ArrayBuffer.isView(map.outcome[1])
            && map.outcome[0].buffer === map.outcome[1].buffer
            && map.outcome[0] instanceof Int32Array && map.final_loss[1] instanceof Float32Array;
          // A blob that does not start 8-aligned in its buffer (a record's payload) decodes.
          const shifted = new Uint8Array(bytes.length + 5);
          shifted.set(bytes, 5);
          const moved = maps.decodeMap(shifted.subarray(5));
          // Any dtype, any depth of the header, any number of axes.
          const other = binary.decodeBlob(blob({meta: {name: 'n'}, nested: {}}, [
            [['nested', 'a'], {dtype: 'float64', shape: [3], values: [0.1, -2.5, 1e300]}],
            [['nested', 'b'],
             {dtype: 'int8', shape: [2, 2, 2], values: [1, -2, 3, -4, 5, -6, 7, -8]}],
            [['c'], {dtype: 'float32', shape: [1, 2], values: [NaN, 3]}],
          ]));
          const errors = [];
          for (const bad of [new Uint8Array([1, 2, 3, 4, 0, 0, 0, 0]), bytes.subarray(0, 40)]) {
            try { binary.decodeBlob(bad); } catch (error) { errors.push(error.message); }
          }
          // The cells() helper never lets a typed row turn strings or nulls into numbers.
          const text = maps.cells(map.outcome, (o, i, j) => `${i},${j}:${o}`);
          const z = maps.cells(map.outcome, (o) => (o === -1 ? 1 : null));
          return {map: plain(map), moved: plain(moved), views, other: plain(other), errors,
                  text, z, steps: map.steps_to_converge.map((r) => Array.isArray(r))};
        }"""
    )
    assert result["map"] == MAP
    assert result["moved"] == MAP
    assert result["views"] is True
    assert result["other"] == {
        "meta": {"name": "n"},
        "nested": {"a": [0.1, -2.5, 1e300], "b": [[[1, -2], [3, -4]], [[5, -6], [7, -8]]]},
        "c": [["NaN", 3]],
    }
    assert result["errors"][0] == "not an LLB1 blob"
    assert "outside the blob" in result["errors"][1] or "past the blob" in result["errors"][1]
    assert result["text"] == [["0,0:0", "0,1:-1", "0,2:-2"], ["1,0:0", "1,1:0", "1,2:0"]]
    assert result["z"] == [[None, 1, None], [None, None, None]]
    assert result["steps"] == [True, False]  # the row with nulls became a plain Array


def test_llb1_records_split_anywhere_are_read_whole(page: Page, live_server: str) -> None:
    harness(page, live_server)
    result = page.evaluate(
        """async () => {
          const {binary, maps, record, json, concat, plain, mapBlob} = await window.llb1();
          const stream = concat([
            record('p', json({fraction: 0.25})),
            record('p', json({fraction: 0.5})),
            record('d', mapBlob()),
          ]);
          const read = async (bytes, cuts) => {
            const chunks = [];
            let at = 0;
            for (const cut of cuts) { chunks.push(bytes.slice(at, cut)); at = cut; }
            chunks.push(bytes.slice(at));
            const body = new ReadableStream({
              start(controller) {
                for (const chunk of chunks) controller.enqueue(chunk);
                controller.close();
              },
            });
            const seen = [];
            for await (const {kind, payload} of binary.readRecords(body.getReader())) {
              seen.push(kind === binary.KIND.done
                ? ['d', plain(maps.decodeMap(payload))]
                : [String.fromCharCode(kind), binary.parseJSON(payload)]);
            }
            return seen;
          };
          const runs = [];
          for (const size of [1, 2, 3, 4, 5, 6, 7, 13, 64, stream.length]) {
            const cuts = [];
            for (let at = size; at < stream.length; at += size) cuts.push(at);
            runs.push(JSON.stringify(await read(stream, cuts)));
          }
          let cutShort = null;
          try { await read(stream.subarray(0, stream.length - 3), []); }
          catch (error) { cutShort = error.message; }
          return {runs, first: await read(stream, [1, 5, 6, 40]), cutShort};
        }"""
    )
    assert result["first"] == [["p", {"fraction": 0.25}], ["p", {"fraction": 0.5}], ["d", MAP]]
    assert set(result["runs"]) == {json.dumps(result["first"], separators=(",", ":"))}
    assert result["cutShort"] == "the stream ended in the middle of a record"


def record(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload


def test_an_error_record_shows_as_the_maps_failure(page: Page, live_server: str) -> None:
    body = record(b"p", b'{"fraction":0.5}') + record(b"e", b'{"detail":"took too long (60 s)"}')

    def answer(route: Route) -> None:
        route.fulfill(
            status=200, headers={"content-type": "application/x-losslab-stream"}, body=body
        )

    page.route("**/api/maps/basins/stream", answer)
    open_page(page, f"{live_server}/?surface=himmelblau&steps=50&run=Adam,lr=0.05")
    page.get_by_test_id("basin-map-button").click()
    expect(page.locator("[data-map-job]")).to_contain_text(
        "Basin map 64 × 64 failed: took too long (60 s)"
    )


def test_the_basin_map_comes_in_llb1_and_equals_the_json_map(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=himmelblau&start=0.5,0.5&steps=120&run=SGD,lr=0.02")
    with page.expect_response("**/api/maps/basins/stream") as answer:
        page.get_by_test_id("basin-map-button").click()
    response = answer.value
    assert "application/x-losslab-binary" in response.request.headers["accept"]
    assert response.headers["content-type"] == "application/x-losslab-stream"
    page.wait_for_function(
        "() => document.querySelector('[data-testid=landscape]').data"
        ".some(t => t.meta && t.meta.role === 'basin-map' && t.x.length === 64)"
    )
    drawn = page.evaluate(
        """() => {
          const t = document.querySelector('[data-testid=landscape]').data
            .find(t => t.meta && t.meta.role === 'basin-map');
          return {x: Array.from(t.x), y: Array.from(t.y), z: t.z.map(r => Array.from(r)),
                  text: t.text.map(r => Array.from(r))};
        }"""
    )
    request = response.request.post_data_json
    expected = httpx.post(f"{live_server}/api/maps/basins", json=request, timeout=60).json()
    assert drawn["x"] == expected["x"] and drawn["y"] == expected["y"]
    # Colour codes: 0 undecided (-2), 1 diverged (-1), 2 + k for minimum k.
    assert drawn["z"] == [[o + 2 for o in row] for row in expected["outcome"]]
    for i, row in enumerate(expected["outcome"]):
        for j, outcome in enumerate(row):
            steps = expected["steps_to_converge"][i][j]
            text = drawn["text"][i][j]
            if outcome == -1:
                assert text == "diverged"
            elif steps is None:
                assert "still moving at the end" in text, text
            else:
                assert f"converged in {steps} steps" in text, text
    kinds = {"diverged", "still moving", "converged in"}
    shown = {k for k in kinds if any(k in t for row in drawn["text"] for t in row)}
    assert len(shown) >= 2, shown  # the map has both kinds of cells (nulls and values)
    watch = page.watch  # type: ignore[attr-defined]
    assert watch.errors == [] and watch.foreign == []


def test_a_server_that_answers_sse_still_draws_the_map(page: Page, live_server: str) -> None:
    def ask_for_sse(route: Route) -> None:
        route.continue_(headers={**route.request.headers, "accept": "text/event-stream"})

    page.route("**/api/maps/hyperparameters/stream", ask_for_sse)
    open_page(page, f"{live_server}/?surface=elliptic&start=-4,1.5&steps=60&run=SGD,lr=0.01")
    page.get_by_test_id("hparam-map-open").click()
    page.locator("[data-hmap-cells]").select_option("16")
    with page.expect_response("**/api/maps/hyperparameters/stream") as answer:
        page.get_by_test_id("hparam-map-button").click()
    assert answer.value.headers["content-type"].startswith("text/event-stream")
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=hparam-map]').data || [])"
        ".some(t => t.meta && t.meta.role === 'hparam-cells' && t.x.length === 16)"
    )
    for metric in ("steps_to_converge", "final_loss", "outcome"):
        page.get_by_test_id("hparam-metric").select_option(metric)
    cells = page.evaluate(
        """() => document.querySelector('[data-testid=hparam-map]').data
          .find(t => t.meta.role === 'hparam-cells').text.flat()"""
    )
    assert len(cells) == 256 and all(re.search(r"diverged|steps|moving", c) for c in cells)
    watch = page.watch  # type: ignore[attr-defined]
    assert watch.errors == [] and watch.foreign == []
