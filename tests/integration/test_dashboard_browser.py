"""The dashboard in a real browser (headless Chromium) on hollow nodes.

The page, driven as a user drives it: the overview shows every node with its
pods, the Scale button changes the Deployment, a pod's log streams as lines are
written, and the flow view draws the arrows of a scale-up. A screenshot of each
page is saved under build/test-artifacts/dashboard/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from control_plane_fixtures import NODE_NAMES, wait_for
from dashboard_fixtures import (LOGS_NODE, POD_DEADLINE_SECONDS, DashboardPlane, deployment, namespace,
                                pinned_pod, ready_pods, running)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tinykube.testing.browser import missing_browser, screenshot, start_browser, texts, wait

pytestmark = pytest.mark.skipif(missing_browser() is not None, reason=str(missing_browser()))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardPlane]:
    yield from running(tmp_path_factory, "dashboard-browser-plane")


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    browser = start_browser()
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def ns(cluster: DashboardPlane) -> Iterator[str]:
    yield from namespace(cluster, "browse")


def start_web(cluster: DashboardPlane, ns: str, replicas: int) -> None:
    cluster.plane.http.post(f"/apis/apps/v1/namespaces/{ns}/deployments",
                            json=deployment("web", replicas)).raise_for_status()
    wait_for(lambda: ready_pods(cluster, ns, replicas), f"{replicas} ready pods", POD_DEADLINE_SECONDS)


def test_the_overview_shows_every_node_with_its_pods(cluster: DashboardPlane, driver: WebDriver,
                                                     ns: str) -> None:
    start_web(cluster, ns, 2)
    on_node = {f"{ns}/{p['metadata']['name']}": p["spec"]["nodeName"]
               for p in cluster.plane.get(f"/api/v1/namespaces/{ns}/pods")["items"]}
    driver.get(cluster.url + "/#overview")

    def drawn(d: WebDriver) -> dict[str, str] | None:
        chips = {c.get_attribute("data-pod"): c for c in d.find_elements(By.CSS_SELECTOR, ".node .chip")}
        mine = {pod: chips[pod] for pod in on_node if pod in chips}
        if len(mine) != 2 or any(c.get_attribute("data-state") != "ready" for c in mine.values()):
            return None
        return {pod: chip.find_element(By.XPATH, "ancestor::div[@data-node]").get_attribute("data-node")
                for pod, chip in mine.items()}

    assert wait(driver, drawn, "both pods drawn ready in their nodes' boxes") == on_node
    assert texts(driver, ".node", "dataset.node") == sorted((*NODE_NAMES, LOGS_NODE))
    wait(driver, lambda d: d.find_element(By.ID, "live").text == "live", "the live stream to be on")
    screenshot(driver, "overview")


def test_scaling_from_the_page_changes_the_deployment(cluster: DashboardPlane, driver: WebDriver,
                                                      ns: str) -> None:
    start_web(cluster, ns, 1)
    driver.get(cluster.url + "/#workloads")
    row_css = f'tr[data-namespace="{ns}"][data-name="web"]'

    # Live updates redraw rows at any moment, so the box is filled and the button
    # pressed in one step of the page's own script (the button's handler reads the box).
    wait(driver, lambda d: d.execute_script(
        "const row = document.querySelector(arguments[0]);"
        "if (!row) return false;"
        "row.querySelector('input.replicas').value = '3';"
        "row.querySelector('button.scale').click();"
        "return true;", row_css), "the Deployment's row")
    wait_for(lambda: cluster.plane.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")["spec"]["replicas"] == 3,
             "the Deployment to want 3 replicas")
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, f"{row_css} .ready").text == "3/3",
         "the row to show 3/3 ready")
    assert driver.find_element(By.ID, "action-result").text == "web scaled to 3"
    screenshot(driver, "workloads")


def test_a_pods_log_streams_into_the_page(cluster: DashboardPlane, driver: WebDriver, ns: str) -> None:
    cluster.plane.http.post(f"/api/v1/namespaces/{ns}/pods", json=pinned_pod("shell")).raise_for_status()
    wait_for(lambda: ready_pods(cluster, ns, 1), "the pod to run", POD_DEADLINE_SECONDS)

    def echo(text: str) -> None:
        run = cluster.cli(ns, "exec", "shell", "--", "sh", "-c", f"echo {text} > /proc/1/fd/1")
        assert run.returncode == 0, run.stderr

    echo("first-line")
    driver.get(cluster.url + f"/#logs/{ns}/shell")
    output = driver.find_element(By.ID, "logs-output")
    wait(driver, lambda d: "first-line" in output.text, "the log's tail")
    echo("second-line")
    wait(driver, lambda d: output.text.splitlines() == ["first-line", "second-line"],
         "the line written after the page opened")
    screenshot(driver, "logs")


def test_the_flow_view_draws_the_arrows_of_a_scale_up(cluster: DashboardPlane, driver: WebDriver,
                                                      ns: str) -> None:
    start_web(cluster, ns, 1)
    driver.get(cluster.url + "/#flow")
    driver.find_element(By.ID, "flow-namespace").send_keys(ns)
    driver.find_element(By.CSS_SELECTOR, "#flow-form button").click()
    wait(driver, lambda d: d.find_element(By.ID, "flow-state").text == "watching", "the flow watch")
    scaled = cluster.cli(ns, "scale", "deployment", "web", "--replicas=2")
    assert scaled.returncode == 0, scaled.stderr

    def chain_drawn(d: WebDriver) -> bool:
        shown = texts(d, "#flow-svg text.arrow-label")
        return (any(t.startswith("patch deployment/web (scale) replicas 1→2") for t in shown)
                and any("(binding) nodeName: node-" in t for t in shown)
                and any("phase Pending→Running" in t for t in shown))

    wait(driver, chain_drawn, "the scale-up's writes in the flow view")
    lanes = texts(driver, "#flow-svg text.lane-name")
    assert lanes[:4] == ["admin (tinykube)", "apiserver", "controller-manager", "scheduler"]
    assert any(lane.startswith("kubelet/") for lane in lanes)
    assert set(texts(driver, "#flow-svg line.arrow", "dataset.kind")) == {"write", "delivery"}
    screenshot(driver, "flow")
