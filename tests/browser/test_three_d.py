"""The 3D view: paths over the surface, a camera that stays above it, the card's chrome in place."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.test_links import assert_clean
from tests.browser.test_page import open_page

LANDSCAPE = "[data-testid=landscape]"

IN_3D = """() => {
  const el = document.querySelector('[data-testid=landscape]');
  const layout = el._fullLayout;
  return Boolean(layout && layout._has && layout._has('gl3d') && el.data
    && el.data.some((t) => t.meta && t.meta.runId && t.z));
}"""

IN_CONTOUR = """() => {
  const el = document.querySelector('[data-testid=landscape]');
  const layout = el._fullLayout;
  return Boolean(layout && layout.xaxis && !(layout._has && layout._has('gl3d')));
}"""

# Every point of every run's path against the surface trace under it, interpolated
# bilinearly from the surface's own z grid: the points not above it (with the gap).
UNDER_SURFACE = """() => {
  const el = document.querySelector('[data-testid=landscape]');
  const surface = el.data.find((t) => t.type === 'surface');
  const {x: xs, y: ys, z} = surface;
  const cell = (edges, v) => {
    if (!(v >= edges[0] && v <= edges[edges.length - 1])) return -1;
    let i = 0;
    while (i < edges.length - 2 && edges[i + 1] <= v) i += 1;
    return i;
  };
  const under = [];
  let checked = 0;
  for (const path of el.data.filter((t) => t.meta && t.meta.runId)) {
    for (let k = 0; k < path.x.length; k += 1) {
      const x = path.x[k];
      const y = path.y[k];
      const i = cell(xs, x);
      const j = cell(ys, y);
      if (i < 0 || j < 0) continue;
      const u = (x - xs[i]) / (xs[i + 1] - xs[i]);
      const v = (y - ys[j]) / (ys[j + 1] - ys[j]);
      const s = (1 - v) * ((1 - u) * z[j][i] + u * z[j][i + 1])
        + v * ((1 - u) * z[j + 1][i] + u * z[j + 1][i + 1]);
      checked += 1;
      if (!(path.z[k] > s)) under.push([path.meta.runId, k, x, y, path.z[k], s]);
    }
  }
  return {checked, under: under.slice(0, 5), count: under.length};
}"""

# Which path points the surface hides from the camera: a ray from the eye to each point,
# marched through the data space, passes under the surface trace (bilinear in its grid) on
# the way. The eye comes from the WebGL scene's own matrices (data × dataScale, model, view).
HIDDEN = """() => {
  const el = document.querySelector('[data-testid=landscape]');
  const scene = el._fullLayout.scene._scene;
  const {view, model} = scene.glplot.cameraParams;
  const invert = (m) => {
    const a = [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => m[c * 4 + r]));
    const b = [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => (r === c ? 1 : 0)));
    for (let c = 0; c < 4; c += 1) {
      let p = c;
      for (let r = c + 1; r < 4; r += 1) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
      [a[c], a[p]] = [a[p], a[c]];
      [b[c], b[p]] = [b[p], b[c]];
      const d = a[c][c];
      for (let k = 0; k < 4; k += 1) { a[c][k] /= d; b[c][k] /= d; }
      for (let r = 0; r < 4; r += 1) {
        if (r === c) continue;
        const f = a[r][c];
        for (let k = 0; k < 4; k += 1) { a[r][k] -= f * a[c][k]; b[r][k] -= f * b[c][k]; }
      }
    }
    return b;
  };
  const apply = (rows, v) => rows.map((row) => row.reduce((sum, m, k) => sum + m * v[k], 0));
  const inWorld = apply(invert(view), [0, 0, 0, 1]);
  const scaled = apply(invert(model), inWorld);
  const eye = [0, 1, 2].map((i) => scaled[i] / scaled[3] / scene.dataScale[i]);
  const surface = el.data.find((t) => t.type === 'surface');
  const {x: xs, y: ys, z} = surface;
  const at = (x, y) => {
    const fx = ((x - xs[0]) / (xs[xs.length - 1] - xs[0])) * (xs.length - 1);
    const fy = ((y - ys[0]) / (ys[ys.length - 1] - ys[0])) * (ys.length - 1);
    if (!(fx >= 0 && fy >= 0 && fx <= xs.length - 1 && fy <= ys.length - 1)) return null;
    const i = Math.min(Math.floor(fx), xs.length - 2);
    const j = Math.min(Math.floor(fy), ys.length - 2);
    const u = fx - i;
    const v = fy - j;
    const below = (1 - u) * z[j][i] + u * z[j][i + 1];
    const above = (1 - u) * z[j + 1][i] + u * z[j + 1][i + 1];
    return (1 - v) * below + v * above;
  };
  let points = 0;
  const hidden = [];
  for (const path of el.data.filter((t) => t.meta && t.meta.runId)) {
    for (let k = 0; k < path.x.length; k += 1) {
      const p = [path.x[k], path.y[k], path.z[k]];
      if (p[2] === null || at(p[0], p[1]) === null) continue;
      points += 1;
      for (let s = 1; s < 400; s += 1) {
        const t = s / 400;
        const q = [0, 1, 2].map((i) => eye[i] + t * (p[i] - eye[i]));
        const under = at(q[0], q[1]);
        if (under !== null && q[2] < under - 1e-3) {
          hidden.push([path.meta.runId, k]);
          break;
        }
      }
    }
  }
  return {eye, points, hidden: hidden.length, first: hidden.slice(0, 3)};
}"""

CAMERA = """() => {
  const scene = document.querySelector('[data-testid=landscape]')._fullLayout.scene;
  return {eye: scene.camera.eye, up: scene.camera.up, dragmode: scene.dragmode};
}"""


def open_3d(page: Page, url: str) -> None:
    open_page(page, url)
    page.get_by_test_id("view-toggle").click()
    page.wait_for_function(IN_3D)


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return {"x": found["x"], "y": found["y"], "width": found["width"], "height": found["height"]}


@pytest.mark.parametrize(
    "query",
    [
        "",  # the default: Rosenbrock, its banana valley
        "?surface=bowl",
        "?surface=four_wells&run=SGD,lr=0.01&run=SGD,lr=0.01,momentum=0.9&run=Adam,lr=0.1",
    ],
)
def test_every_path_point_is_above_the_surface(page: Page, live_server: str, query: str) -> None:
    open_3d(page, f"{live_server}/{query}")
    result: Any = page.evaluate(UNDER_SURFACE)
    assert result["checked"] > 50
    # Before: the paths ran at their true loss under the mesh's flat facets (Rosenbrock's
    # valley: most of the path hidden).
    assert result["count"] == 0, result
    # And from the default camera no point of any path is behind the surface.
    seen: Any = page.evaluate(HIDDEN)
    assert seen["eye"][2] > 1, seen  # the eye is over the surface, in data units
    assert seen["points"] > 50
    assert seen["hidden"] == 0, seen
    assert_clean(page)


def test_the_camera_cannot_go_under_the_surface(page: Page, live_server: str) -> None:
    open_3d(page, f"{live_server}/?surface=bowl")
    camera = page.evaluate(CAMERA)
    assert camera["dragmode"] == "turntable"  # the loss axis stays upright in a drag
    page.evaluate(
        "(sel) => Plotly.relayout(document.querySelector(sel),"
        " {'scene.camera.eye': {x: 1, y: 1, z: -1}})",
        LANDSCAPE,
    )
    page.wait_for_function(
        "() => document.querySelector('[data-testid=landscape]')._fullLayout.scene.camera.eye.z > 0"
    )
    camera = page.evaluate(CAMERA)
    assert camera["eye"]["z"] > 0
    assert camera["up"] == {"x": 0, "y": 0, "z": 1}
    # As far away as before, in the same direction around the surface.
    assert camera["eye"]["x"] == pytest.approx(camera["eye"]["y"])
    distance = sum(v * v for v in camera["eye"].values()) ** 0.5
    assert distance == pytest.approx(3**0.5, rel=1e-3)
    # A real drag upward (the view tips down, past the horizon) ends above the floor too.
    scene = box(page, LANDSCAPE)
    x = scene["x"] + scene["width"] / 2
    y = scene["y"] + scene["height"] / 2
    page.mouse.move(x, y + 200)
    page.mouse.down()
    for k in range(1, 21):
        page.mouse.move(x, y + 200 - 25 * k)
    page.mouse.up()
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=landscape]')._fullLayout.scene.camera.eye.z > 0"
    )
    assert_clean(page)


def test_the_map_buttons_stay_put_in_3d(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/")
    contour = box(page, "[data-testid=basin-map-button]")
    page.get_by_test_id("view-toggle").click()
    page.wait_for_function(IN_3D)
    three_d = box(page, "[data-testid=basin-map-button]")
    assert abs(three_d["y"] - contour["y"]) <= 4  # was pushed to the card's bottom
    assert abs(three_d["x"] - contour["x"]) <= 4
    page.get_by_test_id("view-toggle").click()
    page.wait_for_function(IN_CONTOUR)
    assert abs(box(page, "[data-testid=basin-map-button]")["y"] - contour["y"]) <= 4


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900)])
def test_the_modebar_legend_and_map_buttons_do_not_overlap_in_3d(
    page: Page, live_server: str, size: tuple[int, int]
) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_3d(page, f"{live_server}/?surface=four_wells&run=SGD,lr=0.01&run=Adam,lr=0.1")
    page.hover(LANDSCAPE)  # the modebar shows on hover
    modebar = box(page, f"{LANDSCAPE} .modebar")
    legend = box(page, f"{LANDSCAPE} .legend")
    tools = box(page, ".map-tools")
    assert modebar["width"] > 0 and legend["height"] > 0
    assert not overlap(modebar, legend), (modebar, legend)
    assert not overlap(tools, legend), (tools, legend)
    assert not overlap(tools, modebar), (tools, modebar)
    assert_clean(page)


def test_a_screenshot_of_the_3d_view(page: Page, live_server: str, artifacts: Any) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    open_3d(page, f"{live_server}/")
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "three-d.png"))
    assert_clean(page)
