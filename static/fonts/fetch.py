"""Fetch the script fonts from the npm registry and write them here.

``make fonts`` runs it; the files it writes are kept in git, so neither a
clinic nor CI needs it. Running it again writes the same files.

- The handout's fonts, whole (every character of the font, so whatever a
  patient types has a glyph; WeasyPrint subsets them at render time):
  Noto Sans SC, TC and KR, and Vazirmatn for Arabic script, as TrueType
  from the ``@expo-google-fonts`` packages (the Google Fonts release), and
  Noto Sans for Vietnamese and Cyrillic, cut down to Latin, Vietnamese,
  Greek and Cyrillic.
- The kiosk's Chinese and Korean, in the slices of ``@fontsource`` (about a
  hundred WOFF2 files a weight, each with its ``unicode-range``), so a
  browser fetches only the slices the characters on a screen need, and
  ``static/css/fonts-zh-Hans.css`` (``-zh-Hant``, ``-ko``) that declare them.
- A few kilobytes of each script for the language buttons, where each
  language is named in its own ("Kiosk Names ..." families): a screen in
  another language that only names them fetches no slice and no whole font;
  and the language menu's globe, cut from Noto Emoji.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from fontTools import subset

HERE = Path(__file__).resolve().parent
CSS = HERE.parent / "css"

WHOLE = {
    # folder: (package, version, {weight: (package path, file name)})
    "noto-sans-sc": ("@expo-google-fonts/noto-sans-sc", "0.4.3", "NotoSansSC"),
    "noto-sans-tc": ("@expo-google-fonts/noto-sans-tc", "0.4.3", "NotoSansTC"),
    "noto-sans-kr": ("@expo-google-fonts/noto-sans-kr", "0.4.3", "NotoSansKR"),
    "vazirmatn": ("@expo-google-fonts/vazirmatn", "0.4.1", "Vazirmatn"),
}
STYLES = {"Regular": "400Regular", "Bold": "700Bold"}
NOTO_SANS = ("@expo-google-fonts/noto-sans", "0.4.2")
NOTO_SANS_STYLES = {
    "Regular": "400Regular",
    "Bold": "700Bold",
    "Italic": "400Regular_Italic",
    "BoldItalic": "700Bold_Italic",
}
# Latin, Latin-1, Latin Extended A/B and Additional (Vietnamese), the
# combining marks, Greek, Cyrillic, punctuation, currency and the like.
NOTO_SANS_UNICODES = "U+0000-024F,U+0300-036F,U+0370-03FF,U+0400-052F,U+1E00-1EFF,U+2000-20CF,U+2100-218F,U+2C60-2C7F,U+A640-A69F,U+A720-A7FF"
SLICED = {
    # folder: (package, version, family name on the kiosk, language tag)
    "noto-sans-sc": ("@fontsource/noto-sans-sc", "5.3.1", "Kiosk Noto Sans SC", "zh-Hans"),
    "noto-sans-tc": ("@fontsource/noto-sans-tc", "5.3.0", "Kiosk Noto Sans TC", "zh-Hant"),
    "noto-sans-kr": ("@fontsource/noto-sans-kr", "5.3.0", "Kiosk Noto Sans KR", "ko"),
}
WEIGHTS = (400, 700)
# Each language named in its own language (Babel's display names, with the
# usual short forms): the characters the language buttons need, by the font
# they are cut from.
LANGUAGE_NAMES = {
    "Kiosk Names SC": ("noto-sans-sc/NotoSansSC", "中文简体汉语（）"),
    "Kiosk Names TC": ("noto-sans-tc/NotoSansTC", "中文繁體漢語（）"),
    "Kiosk Names KR": ("noto-sans-kr/NotoSansKR", "한국어"),
    "Kiosk Names Arabic": ("vazirmatn/Vazirmatn", "العربية"),
    "Kiosk Names Noto Sans": ("noto-sans/NotoSans", "Tiếng Việt Русский русский"),
}

# Symbols the kiosk's own screens show, by the family that draws them.
KIOSK_SYMBOLS = {"Bundled Noto Emoji": ("noto-emoji/NotoEmoji", "\U0001f310")}


def npm_pack(package: str, version: str, into: Path) -> Path:
    subprocess.run(["npm", "pack", "-q", f"{package}@{version}"], cwd=into, check=True, capture_output=True)
    tgz = next(into.glob(package.lstrip("@").replace("/", "-") + f"-{version}.tgz"))
    out = into / tgz.stem
    with tarfile.open(tgz) as archive:
        archive.extractall(out, filter="data")
    return out / "package"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kiosk-fonts-") as tmp:
        tmp_path = Path(tmp)
        for folder, (package, version, stem) in WHOLE.items():
            source = npm_pack(package, version, tmp_path)
            target = HERE / folder
            target.mkdir(exist_ok=True)
            for style, directory in STYLES.items():
                shutil.copyfile(
                    source / directory / f"{stem}_{directory}.ttf", target / f"{stem}-{style}.ttf"
                )
            shutil.copyfile(source / "LICENSE_FONT", target / "OFL.txt")

        source = npm_pack(*NOTO_SANS, tmp_path)
        target = HERE / "noto-sans"
        target.mkdir(exist_ok=True)
        for style, directory in NOTO_SANS_STYLES.items():
            subset.main(
                [
                    str(source / directory / f"NotoSans_{directory}.ttf"),
                    f"--unicodes={NOTO_SANS_UNICODES}",
                    "--layout-features=*",
                    "--no-hinting",
                    f"--output-file={target / f'NotoSans-{style}.ttf'}",
                ]
            )
        shutil.copyfile(source / "LICENSE_FONT", target / "OFL.txt")

        for folder, (package, version, family, language) in SLICED.items():
            rules = [
                f"/* {family}: {folder} in slices, for the kiosk's pages in {language} only",
                "   (templates/base.html links this file there). A browser fetches a slice",
                "   only when a character on the screen needs it. Written by",
                "   static/fonts/fetch.py (make fonts) from the @fontsource package's own",
                "   stylesheets; the handout uses the whole font (fonts.css). */",
            ]
            source = npm_pack(package, version, tmp_path)
            web = HERE / folder / "web"
            shutil.rmtree(web, ignore_errors=True)
            web.mkdir(parents=True)
            for weight in WEIGHTS:
                css = (source / f"{weight}.css").read_text(encoding="utf-8")
                for name, ranges in re.findall(
                    rf"src: url\(\./files/([\w-]+-\d+-{weight}-normal)\.woff2\).*?unicode-range: ([^;]+);",
                    css,
                    flags=re.S,
                ):
                    shutil.copyfile(source / "files" / f"{name}.woff2", web / f"{name}.woff2")
                    rules.append(
                        f'@font-face {{ font-family: "{family}"; font-weight: {weight}; font-style: normal; '
                        f"font-display: swap; unicode-range: {ranges};\n"
                        f'  src: url(../fonts/{folder}/web/{name}.woff2) format("woff2"); }}'
                    )
            (CSS / f"fonts-{language}.css").write_text("\n".join(rules) + "\n", encoding="utf-8")

        rules = [
            "/* The language buttons' few characters of each script: each language",
            "   named in its own words, on a page in another (kiosk-fonts.css). Written",
            "   by static/fonts/fetch.py (make fonts) from the whole fonts. */",
        ]
        for family, (stem, names) in LANGUAGE_NAMES.items():
            for weight in WEIGHTS:
                whole = HERE / f"{stem}-{'Bold' if weight == 700 else 'Regular'}.ttf"
                small = HERE / "language-names" / f"{stem.split('/')[1]}-Names-{weight}.woff2"
                small.parent.mkdir(exist_ok=True)
                subset.main(
                    [
                        str(whole),
                        f"--text={names} ",
                        "--layout-features=*",
                        "--no-hinting",
                        "--flavor=woff2",
                        f"--output-file={small}",
                    ]
                )
                # The space too: else the whole font would be fetched for it.
                ranges = ",".join(f"U+{ord(c):X}" for c in sorted(set(names + " ")))
                rules.append(
                    f'@font-face {{ font-family: "{family}"; font-weight: {weight}; font-style: normal; '
                    f"font-display: swap; unicode-range: {ranges};\n"
                    f'  src: url(../fonts/language-names/{small.name}) format("woff2"); }}'
                )
        # The globe of the language menu, in the emoji font's own family: a
        # screen that shows only it fetches under 1 kB, not the whole font (877 kB).
        for family, (stem, text) in KIOSK_SYMBOLS.items():
            small = HERE / "language-names" / f"{stem.split('/')[1]}-Kiosk.woff2"
            subset.main(
                [
                    str(HERE / f"{stem}-Regular.ttf"),
                    f"--text={text}",
                    "--layout-features=*",
                    "--no-hinting",
                    "--flavor=woff2",
                    f"--output-file={small}",
                ]
            )
            ranges = ",".join(f"U+{ord(c):X}" for c in sorted(set(text)))
            rules.append(
                f'@font-face {{ font-family: "{family}"; font-weight: 400; font-style: normal; '
                f"font-display: swap; unicode-range: {ranges};\n"
                f'  src: url(../fonts/language-names/{small.name}) format("woff2"); }}'
            )
        (CSS / "fonts-names.css").write_text("\n".join(rules) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
