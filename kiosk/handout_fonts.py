"""The handout's fonts: the ones the project ships, and no other.

WeasyPrint's own ``FontConfiguration`` starts from the machine's fontconfig
(``FcInitLoadConfigAndFonts``): every installed font and every rule in
``/etc/fonts``. On a desktop that changes the handout. Debian's
``45-generic.conf`` files the family "Noto Emoji" under the generic ``emoji``
and gives the whole request the language ``und-zsye``, and ``60-generic.conf``
puts Noto Color Emoji first for it (``fc-match "Noto Emoji"`` answers
NotoColorEmoji.ttf); fontconfig then ranks that font above every other for
every character it has, digits included, and ``90-synthetic.conf`` makes a
bold of it. Fonts a machine happens to have also fill in for any character
the stylesheet's families lack.

So the handout is laid out with a fontconfig of its own, made through the
fontconfig API (no ``FONTCONFIG_FILE``: the worker renders in long-lived
processes, and the environment is read when fontconfig first starts): no
configuration file, no rules, no system font directory. It holds the
stylesheet's ``@font-face`` files (``static/fonts/``) and nothing else: Latin,
Vietnamese, Greek, Cyrillic, Arabic and Persian, Chinese and Korean script are
all in them, whole. The same answers give the same fonts, layout and page
count on any machine.
"""

from __future__ import annotations

from cffi import FFI
from weasyprint.text import ffi as weasyprint_ffi
from weasyprint.text.fonts import FontConfiguration

# The two fontconfig calls WeasyPrint does not declare, on WeasyPrint's own
# types, so what they return can be handed to its Pango font map.
_ffi = FFI()
_ffi.include(weasyprint_ffi.ffi)
_ffi.cdef(
    """
    FcConfig * FcConfigCreate (void);
    FcBool FcConfigBuildFonts (FcConfig *config);
    """
)


def _open_fontconfig():
    # The names WeasyPrint tries (weasyprint/text/ffi.py), so it is the same library.
    for name in (
        "libfontconfig-1",
        "fontconfig-1",
        "fontconfig",
        "libfontconfig.so.1",
        "libfontconfig.1.dylib",
    ):
        try:
            return _ffi.dlopen(name)
        except OSError:
            continue
    raise OSError("fontconfig not found")


_fontconfig = _open_fontconfig()


class HandoutFonts(FontConfiguration):
    """A WeasyPrint font configuration that sees no font of the machine's;
    ``@font-face`` rules add the bundled ones."""

    def __init__(self) -> None:
        super().__init__()
        config = _fontconfig.FcConfigCreate()
        if config == _ffi.NULL:
            raise MemoryError("fontconfig could not make a configuration")
        # An empty set of system fonts: no directory is scanned.
        _fontconfig.FcConfigBuildFonts(config)
        # In place of the machine's configuration that FontConfiguration loaded:
        # the font map drops that one and keeps a reference to this one.
        self._config = config
        pangoft2 = weasyprint_ffi.pangoft2
        pangoft2.pango_fc_font_map_set_config(
            weasyprint_ffi.ffi.cast("PangoFcFontMap *", self.font_map), config
        )
        weasyprint_ffi.fontconfig.FcConfigDestroy(config)
