"""Which fonts Chromium really drew a page's text with (DevTools
``CSS.getPlatformFontsForNode``): a font of the app's is named by its family,
one of the machine's "system: <family>"."""

from __future__ import annotations

from collections import defaultdict

from playwright.sync_api import Page

NOT_DRAWN = {"SCRIPT", "STYLE", "TEMPLATE", "TITLE", "HEAD", "NOSCRIPT"}


def fonts_drawn(page: Page) -> dict[str, list[str]]:
    """Each font Chromium drew the page's text with, and a few of the texts
    drawn in it. A system font is named "system: <family>"."""
    page.evaluate("document.fonts.ready.then(() => true)")
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
        drawn: dict[str, list[str]] = defaultdict(list)

        def text_of(node) -> str:
            return " ".join(
                child["nodeValue"].strip() for child in node.get("children", []) if child["nodeType"] == 3
            )

        def visit(node) -> None:
            if node.get("nodeName") in NOT_DRAWN:
                return
            text = text_of(node)
            if node["nodeType"] == 1 and (text or node.get("pseudoType")):
                fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
                for font in fonts:
                    name = font["familyName"] if font["isCustomFont"] else f"system: {font['familyName']}"
                    if len(drawn[name]) < 5:
                        drawn[name].append(text or f"::{node['pseudoType']}")
            for child in (*node.get("pseudoElements", ()), *node.get("children", ())):
                visit(child)

        visit(root)
        return dict(drawn)
    finally:
        cdp.detach()


def fonts_of(page: Page, selector: str) -> set[str]:
    """The fonts Chromium drew one element's text with."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]
        node = cdp.send("DOM.querySelector", {"nodeId": root["nodeId"], "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return {
            font["familyName"] if font["isCustomFont"] else f"system: {font['familyName']}" for font in fonts
        }
    finally:
        cdp.detach()
