"""wann_plugin.show: the page's data against the tasks, and the page in a real Chromium."""

import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import reference_path

from wann_plugin import render as R
from wann_plugin.evaluation import DEFAULT_WEIGHTS
from wann_plugin.io import load_network
from wann_plugin.network import WannNetwork
from wann_plugin.show import default_grid, network_svg, page_data, show_page
from wann_plugin.tasks import GymTask, SwingUpTask, make_digits_task
from wann_plugin.tasks.swingup import swingup_x_to_pixel

GRID = np.array([-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0])
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def swing():
    return load_network(reference_path("swing.out"), n_inputs=5, n_outputs=1).net


def digits_net():
    # each pixel to one class output through tanh: a weak but real classifier
    acts = [1] * 65 + [5] * 10
    return WannNetwork.from_edges(64, 10, acts, [(1 + i, 65 + i % 10) for i in range(64)])


def embedded(path: Path) -> dict:
    text = path.read_text()
    m = re.search(r'<script type="application/json" id="wann-data">(.*?)</script>', text, re.S)
    return json.loads(m.group(1))


def test_default_grid_holds_the_paper_series():
    for task in (SwingUpTask(max_steps=10), GymTask("CartPole-v1")):
        grid = default_grid(task)
        assert np.isin(DEFAULT_WEIGHTS, grid).all() and grid[0] == -2.5 and grid[-1] == 2.5
    assert len(default_grid(SwingUpTask(max_steps=10))) == 51


def test_network_svg_colours_and_names_every_node(swing):
    svg = network_svg(swing)
    names = re.findall(r'data-activation="([a-z]+)"', svg)
    assert len(names) == swing.n_nodes and svg.count("<line") == swing.n_connections
    from wann_plugin.activations import activation_by_id

    hidden = [activation_by_id(int(a)).name for a in swing.activations[6:]]
    assert names[6:] == hidden and names[:6] == ["bias"] + ["input"] * 5
    assert "<title>hidden node 6: " in svg


def test_swingup_page_data_is_what_the_task_computes(swing, tmp_path):
    task = SwingUpTask(max_steps=300)
    path = show_page(task, [swing], tmp_path / "p.html", grid=GRID, n_episodes=3, seed=4)
    data = embedded(path)
    view, curve = data["panels"][0]["view"], data["panels"][0]["curve"]
    tr = R.swingup_trajectories(task, swing, GRID, seed=4)
    np.testing.assert_array_equal(view["returns"], tr.returns)
    np.testing.assert_allclose(view["x"], tr.states[:, ::2, 0], atol=5e-7)
    scores = task.evaluate([swing], GRID, seed=4, n_repeats=3)[0]
    np.testing.assert_allclose(curve["mean"], scores.mean(axis=1))
    assert data["grid"] == GRID.tolist() and data["grid"][data["start"]] == 1.0
    # no URL but the SVG namespace name (an identifier, never fetched)
    assert re.findall(r"https?://[^\s\"'\\]+", path.read_text()) != []
    assert set(re.findall(r"https?://[^\s\"'\\]+", path.read_text())) == {
        "http://www.w3.org/2000/svg"}


def test_classify_page_data(tmp_path):
    task = make_digits_task()
    net = digits_net()
    data = page_data(task, [net], grid=GRID, n_episodes=2)
    view = data["panels"][0]["view"]
    acc = task.accuracy(net, GRID)
    np.testing.assert_allclose(view["accuracy"], acc["per_weight_accuracy"])
    assert view["ensemble_accuracy"] == task.accuracy(net, DEFAULT_WEIGHTS)["ensemble_accuracy"]
    for m, a in zip(view["confusion"], view["accuracy"]):
        m = np.array(m)
        assert m.sum() == len(task.y_test) and np.trace(m) / m.sum() == pytest.approx(a)
    assert max(view["accuracy"]) > 0.2  # better than chance (0.1)


def test_gym_page_data(tmp_path):
    task = GymTask("CartPole-v1", max_steps=60)
    net = WannNetwork.from_edges(4, 2, [1] * 7, [(3, 5), (4, 6)])
    view = page_data(task, [net], grid=[-1.0, 1.0], n_episodes=2, n_frames=20)["panels"][0][
        "view"]
    np.testing.assert_array_equal(view["returns"],
                                  task.evaluate([net], np.array([-1.0, 1.0]), seed=0)[0, :, 0])
    assert view["every"] == 3 and all(f[0].startswith("data:image/jpeg;base64,")
                                      for f in view["frames"])
    assert len(view["frames"][1]) == 1 + int(np.ceil(view["n_steps"][1] / 3))


def test_no_view_for_other_tasks():
    from wann_plugin.tasks.base import Task

    class Constant(Task):
        name, n_inputs, n_outputs = "constant", 1, 1

    with pytest.raises(R.RenderError, match="task 'constant' has no view"):
        page_data(Constant(), [WannNetwork.from_edges(1, 1, [1] * 3, [(1, 2)])])


# ----------------------------------------------------------------------------- in Chromium
@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("Chromium and chromedriver are not installed (Debian: apt-get install "
                    "chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="wann-chromium-")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                "--window-size=1300,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def requested_urls(driver, page: Path) -> list[str]:
    """URLs the page requested (from Chromium's network log); fails on any http(s) request
    of the browser at all, whoever made it."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            url = msg["params"]["request"]["url"]
            assert not url.startswith(("http:", "https:", "ws:", "wss:")), url
            if msg["params"].get("documentURL") == page.as_uri():
                urls.append(url)
    return urls


CART_COLUMN_JS = """
const c = document.querySelectorAll('canvas.cart')[arguments[0]];
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
let n = 0, s = 0;
for (let i = 0; i < d.length; i += 4) {
  if (Math.abs(d[i] - 40) < 30 && Math.abs(d[i + 1] - 90) < 30 && Math.abs(d[i + 2] - 200) < 30) {
    n += 1; s += (i / 4) % c.width;
  }
}
return n ? s / n : null;
"""


def test_page_in_chromium_slider_matches_python(browser, swing, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    task = SwingUpTask(max_steps=400)
    plain = WannNetwork.from_edges(5, 1, [1] * 7, [(i, 6) for i in range(6)])
    path = show_page(task, [swing, plain], tmp_path / "swing.html", grid=GRID, n_episodes=2,
                     labels=["champion", "linear"])
    browser.get_log("performance")  # drop earlier entries
    browser.get(path.as_uri())
    assert browser.find_element(By.ID, "weight-value").text == "+1.00"
    slider = browser.find_element(By.ID, "weight")
    slider.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT, Keys.ARROW_LEFT)  # 1.0 -> -1.0
    i = int(np.flatnonzero(GRID == -1.0)[0])
    assert browser.find_element(By.ID, "weight-value").text == "-1.00"
    tr = R.swingup_trajectories(task, swing, GRID, seed=0)
    tr2 = R.swingup_trajectories(task, plain, GRID, seed=0)
    panels = browser.find_elements(By.CSS_SELECTOR, "section.panel")
    scores = [p.find_element(By.CLASS_NAME, "score") for p in panels]
    assert f"return of episode 0: {tr.returns[i]:.2f}" in scores[0].text
    assert float(scores[1].get_attribute("data-value")) == tr2.returns[i]
    mean = task.evaluate([swing], GRID, seed=0, n_repeats=2)[0, i].mean()
    assert f"{mean:.2f}" in panels[0].find_element(By.CLASS_NAME, "mean").text

    # move the champion's frame slider to frame 60 (step 120): it pauses on that frame
    frame = panels[0].find_element(By.CLASS_NAME, "frame")
    frame.send_keys(Keys.HOME, *[Keys.ARROW_RIGHT] * 60)
    state = panels[0].find_element(By.CLASS_NAME, "state")
    assert "step 120" in state.text
    x = tr.states[i, 120, 0]
    assert float(state.get_attribute("data-x")) == pytest.approx(x, abs=1e-6)
    assert browser.execute_script(CART_COLUMN_JS, 0) == pytest.approx(
        swingup_x_to_pixel(x, 400), abs=1.5)

    # the legend names every activation of the hidden and output nodes
    legend = panels[0].find_element(By.CLASS_NAME, "legend").text.split()
    from wann_plugin.activations import activation_by_id

    assert sorted(legend) == sorted({activation_by_id(int(a)).name
                                     for a in swing.activations[6:]})
    # hovering a node names its activation
    node = panels[0].find_elements(By.CSS_SELECTOR, "g.node")[6]
    ActionChains(browser).move_to_element(node).perform()
    hover = panels[0].find_element(By.CLASS_NAME, "hover").text
    assert hover == node.get_attribute("data-label") and node.get_attribute(
        "data-activation") in hover

    # the page asked for nothing but itself
    assert requested_urls(browser, path) == [path.as_uri()]
    assert browser.execute_script(
        "return performance.getEntriesByType('resource').length") == 0


def test_classify_page_in_chromium(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    task = make_digits_task()
    net = digits_net()
    path = show_page(task, [net], tmp_path / "digits.html", grid=GRID, n_episodes=2)
    browser.get_log("performance")
    browser.get(path.as_uri())
    browser.find_element(By.ID, "weight").send_keys(Keys.HOME)
    acc = task.accuracy(net, GRID)["per_weight_accuracy"]
    score = browser.find_element(By.CSS_SELECTOR, "section.panel .score")
    assert f"held-out accuracy at -2.00: {100 * acc[0]:.2f} %" in score.text
    cells = browser.find_elements(By.CSS_SELECTOR, "table.confusion")[0].find_elements(
        By.TAG_NAME, "td")
    assert sum(int(c.text) for c in cells) == len(task.y_test)
    assert requested_urls(browser, path) == [path.as_uri()]
