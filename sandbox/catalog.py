"""The sandbox's technique catalog: the 38 techniques of the seed's list example.

`technique_id`, `name` and `description` are exactly the seed's. Inputs, outputs, costs and
durations are invented to fit each description, and cover every schema feature a client has
to handle: each media type as input and output, optional inputs, `allow_multiple`,
`accepts_element`, `specified_aspect_ratio` and `specified_duration`, and inputs typed
`audioUrl`/`documentUrl`, which the run API cannot accept (so they are always optional here).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.auth import Workspace

IMAGE = "imageUrl"
VIDEO = "videoUrl"
AUDIO = "audioUrl"
TEXT = "text"
DOCUMENT = "documentUrl"

ASPECT_RATIOS = ("1:1", "4:5", "3:4", "2:3", "9:16", "16:9", "3:2", "4:3", "21:9")


@dataclass(frozen=True)
class IO:
    """One input or output of a technique's schema."""

    id: str
    name: str
    type: str
    description: str
    specified_aspect_ratio: str | None = None
    specified_duration: float | None = None
    optional: bool = False
    allow_multiple: bool = False
    accepts_element: bool = False
    # Sandbox-only validation (not part of the public schema): allowed text values.
    choices: tuple[str, ...] | None = None

    def to_api(self) -> dict:
        data: dict = {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "description": self.description,
        }
        if self.specified_aspect_ratio is not None:
            data["specified_aspect_ratio"] = self.specified_aspect_ratio
        if self.specified_duration is not None:
            data["specified_duration"] = self.specified_duration
        # The extended flags are only sent when set, as FLORA does for optional fields.
        for flag in ("optional", "allow_multiple", "accepts_element"):
            if getattr(self, flag):
                data[flag] = True
        return data


@dataclass(frozen=True)
class Technique:
    slug: str
    name: str
    description: str
    run_cost: float
    # Simulated seconds spent `running` (before FLORA_SANDBOX_SPEEDUP).
    duration: float
    inputs: tuple[IO, ...]
    outputs: tuple[IO, ...]
    # Visible only in workspaces with has_brand_techniques (ws_brand).
    brand_only: bool = False

    @property
    def technique_id(self) -> str:
        return f"tech_{self.slug}"

    def input(self, input_id: str) -> IO | None:
        return next((item for item in self.inputs if item.id == input_id), None)

    def to_api(self) -> dict:
        return {
            "technique_id": self.technique_id,
            "name": self.name,
            "description": self.description,
            "run_cost": self.run_cost,
            "inputs": [item.to_api() for item in self.inputs],
            "outputs": [item.to_api() for item in self.outputs],
        }

    def to_ref(self) -> dict:
        return {"name": self.name, "technique_id": self.technique_id}


def _image(id: str, name: str, description: str, **extra: object) -> IO:
    return IO(id, name, IMAGE, description, **extra)  # type: ignore[arg-type]


def _video(id: str, name: str, description: str, **extra: object) -> IO:
    return IO(id, name, VIDEO, description, **extra)  # type: ignore[arg-type]


def _audio(id: str, name: str, description: str, **extra: object) -> IO:
    return IO(id, name, AUDIO, description, **extra)  # type: ignore[arg-type]


def _text(id: str, name: str, description: str, **extra: object) -> IO:
    return IO(id, name, TEXT, description, **extra)  # type: ignore[arg-type]


def _document(id: str, name: str, description: str, **extra: object) -> IO:
    return IO(id, name, DOCUMENT, description, **extra)  # type: ignore[arg-type]


TECHNIQUES: tuple[Technique, ...] = (
    Technique(
        "art-directors-critique",
        "Art Director's Critique",
        "Analyze, critique, and redesign any creative asset.",
        run_cost=0.35,
        duration=12,
        inputs=(
            _image("asset", "Creative asset", "The ad, poster or layout to critique."),
            _text("brief", "Creative brief", "What the asset must achieve.", optional=True),
            _document(
                "guidelines",
                "Brand guidelines",
                "A PDF brand book to judge the asset against.",
                optional=True,
            ),
        ),
        outputs=(
            _text("critique", "Critique", "What works, what does not, and why."),
            _image("redesign", "Redesign", "The asset redesigned after the critique."),
            _document("report", "Critique report", "The full critique as a PDF."),
        ),
    ),
    Technique(
        "auto-translate",
        "Auto Translate",
        "Translate text in images instantly",
        run_cost=0.08,
        duration=5,
        inputs=(
            _image("image", "Image with text", "A poster, menu or packaging shot."),
            _text("target_language", "Target language", "For example French or Japanese."),
        ),
        outputs=(
            _image("translated", "Translated image", "The image with its text translated."),
            _text("transcript", "Translated text", "Every translated line, in reading order."),
        ),
    ),
    Technique(
        "book-drop",
        "Book Drop",
        "Mocks up front and back book covers",
        run_cost=0.18,
        duration=8,
        inputs=(
            _image("cover_art", "Cover artwork", "The artwork for the front cover."),
            _text("title", "Title", "The book's title."),
            _text("author", "Author", "The author's name, as printed.", optional=True),
        ),
        outputs=(
            _image("front", "Front cover", "Front cover mock-up.", specified_aspect_ratio="2:3"),
            _image("back", "Back cover", "Back cover mock-up.", specified_aspect_ratio="2:3"),
        ),
    ),
    Technique(
        "cctv-cam",
        "CCTV Cam",
        "Any face, CCTV style",
        run_cost=0.05,
        duration=4,
        inputs=(
            _image("face", "Face", "A clear photo of one face.", accepts_element=True),
            _text(
                "location",
                "Camera location",
                "Where the camera hangs, e.g. parking garage.",
                optional=True,
            ),
        ),
        outputs=(
            _image(
                "still", "CCTV still", "A grainy surveillance frame.", specified_aspect_ratio="4:3"
            ),
        ),
    ),
    Technique(
        "character-lock",
        "Character Lock",
        "One character, 6 different angles",
        run_cost=0.24,
        duration=10,
        inputs=(
            _image(
                "character",
                "Character reference",
                "One image of the character to keep consistent.",
                accepts_element=True,
            ),
            _text("pose_notes", "Pose notes", "Anything the angles must show.", optional=True),
        ),
        outputs=(
            _image(
                "turnaround",
                "Turnaround sheet",
                "Six angles of the character in a 3x2 grid.",
                specified_aspect_ratio="3:2",
            ),
        ),
    ),
    Technique(
        "cinematic-movie-generator",
        "Cinematic Movie Stills",
        "Generate film-quality scene stills",
        run_cost=0.30,
        duration=14,
        inputs=(
            _text("scene", "Scene", "Describe the scene, the light and the mood."),
            _image(
                "style_reference",
                "Style reference",
                "Frames whose look the stills should borrow.",
                optional=True,
                allow_multiple=True,
            ),
        ),
        outputs=(
            _image("still_1", "Still 1", "Wide shot.", specified_aspect_ratio="21:9"),
            _image("still_2", "Still 2", "Medium shot.", specified_aspect_ratio="21:9"),
            _image("still_3", "Still 3", "Close-up.", specified_aspect_ratio="21:9"),
        ),
    ),
    Technique(
        "color-mapping",
        "Segment Mapper",
        "Color-codes every element in your image",
        run_cost=0.06,
        duration=4,
        inputs=(_image("image", "Image", "The image to segment."),),
        outputs=(
            _image("segment_map", "Segment map", "One flat color per element."),
            _text("legend", "Legend", "Which color stands for which element."),
        ),
    ),
    Technique(
        "color-transfer",
        "Color Transfer",
        "Apply color grading from any reference",
        run_cost=0.07,
        duration=5,
        inputs=(
            _image("image", "Image to grade", "The photo to recolor."),
            _image("reference", "Color reference", "The image whose grade to copy."),
        ),
        outputs=(_image("graded", "Graded image", "The photo with the reference's grade."),),
    ),
    Technique(
        "earth-zoom-out",
        "Earth Zoom Out",
        "Zoom out to space from any scene",
        run_cost=0.90,
        duration=18,
        inputs=(_image("scene", "Starting scene", "Where the zoom starts."),),
        outputs=(
            _video(
                "video",
                "Zoom-out video",
                "From the scene up to orbit.",
                specified_aspect_ratio="16:9",
                specified_duration=5,
            ),
        ),
    ),
    Technique(
        "facade-swap",
        "Facade Swap",
        "Reskin buildings with new materials",
        run_cost=0.12,
        duration=7,
        inputs=(
            _image("building", "Building", "A photo of the building's facade."),
            _text("material", "New material", "For example weathered copper or white brick."),
        ),
        outputs=(_image("reskinned", "Reskinned building", "The facade in the new material."),),
    ),
    Technique(
        "fit-checks",
        "Fit Check",
        "Extract outfits & swap onto new looks",
        run_cost=0.15,
        duration=8,
        inputs=(
            _image("outfit", "Outfit", "A photo showing the outfit to extract."),
            _image(
                "model",
                "Model",
                "The person to dress in the outfit.",
                accepts_element=True,
            ),
        ),
        outputs=(
            _image(
                "look", "New look", "The model wearing the outfit.", specified_aspect_ratio="3:4"
            ),
            _text("items", "Outfit items", "The garments found in the outfit."),
        ),
    ),
    Technique(
        "glam-shots",
        "Glam Shots",
        "Create polished makeup ads instantly",
        run_cost=0.14,
        duration=7,
        inputs=(
            _image("portrait", "Portrait", "A well-lit portrait."),
            _text("look", "Makeup look", "For example smoky eyes, red lip.", optional=True),
        ),
        outputs=(
            _image("ad", "Makeup ad", "A beauty campaign shot.", specified_aspect_ratio="4:5"),
        ),
    ),
    Technique(
        "icon-pack",
        "Icon Pack",
        "Generate matched icon sets from a prompt",
        run_cost=0.10,
        duration=6,
        inputs=(
            _text("prompt", "Icon theme", "What the icons are about, e.g. outdoor cooking."),
            _text("style", "Style", "For example flat, duotone or line.", optional=True),
        ),
        outputs=(
            _image(
                "icon_sheet", "Icon sheet", "Twelve matched icons.", specified_aspect_ratio="1:1"
            ),
            _text("icon_names", "Icon names", "The name of each icon, in sheet order."),
        ),
    ),
    Technique(
        "live-like-an-amsterdammer",
        "Live like an Amsterdammer",
        "Places you into everyday Amsterdam scenes",
        run_cost=0.20,
        duration=9,
        inputs=(_image("photo", "Your photo", "A photo of you.", accepts_element=True),),
        outputs=(
            _image(
                "scene_1", "Canal bike ride", "On a bike by a canal.", specified_aspect_ratio="4:5"
            ),
            _image(
                "scene_2",
                "Market morning",
                "At the Albert Cuyp market.",
                specified_aspect_ratio="4:5",
            ),
            _image("scene_3", "Borrel", "Drinks on a terrace.", specified_aspect_ratio="4:5"),
        ),
    ),
    Technique(
        "location-scouter",
        "Location Scout",
        "Scouts five views from a single location",
        run_cost=0.40,
        duration=15,
        inputs=(
            _image("location", "Location photo", "One photo of the location."),
            _text("shoot_notes", "Shoot notes", "What the shoot needs.", optional=True),
        ),
        outputs=tuple(
            _image(
                f"view_{n}", f"View {n}", f"Scouted view {n} of 5.", specified_aspect_ratio="16:9"
            )
            for n in range(1, 6)
        ),
    ),
    Technique(
        "logo-stylist",
        "Logo Stylist",
        "Stylize any logo with a new visual twist",
        run_cost=0.09,
        duration=5,
        brand_only=True,
        inputs=(
            _image(
                "logo", "Logo", "The logo, ideally on a plain background.", accepts_element=True
            ),
            _text("twist", "Visual twist", "For example neon sign or embroidered patch."),
        ),
        outputs=(
            _image(
                "styled_logo",
                "Styled logo",
                "The logo with the twist.",
                specified_aspect_ratio="1:1",
            ),
        ),
    ),
    Technique(
        "memoji-me",
        "Memoji Me",
        "Turn any face into a custom memoji",
        run_cost=0.04,
        duration=3,
        inputs=(_image("face", "Face", "A photo of one face.", accepts_element=True),),
        outputs=(
            _image("memoji", "Memoji", "The face as a memoji.", specified_aspect_ratio="1:1"),
        ),
    ),
    Technique(
        "moodboard-maker",
        "Mood Board Maker",
        "Eclectic mood board from a photo",
        run_cost=0.16,
        duration=8,
        inputs=(
            _image("photo", "Photo", "The photo that sets the mood."),
            _text("mood", "Mood words", "A few words to steer the board.", optional=True),
        ),
        outputs=(
            _image(
                "board",
                "Mood board",
                "A collage of textures, type and color.",
                specified_aspect_ratio="16:9",
            ),
            _text("keywords", "Keywords", "Words that describe the board."),
        ),
    ),
    Technique(
        "mugshot",
        "Mugshot",
        "Turn any portrait into a mugshot",
        run_cost=0.03,
        duration=3,
        inputs=(
            _image("portrait", "Portrait", "A front-facing portrait.", accepts_element=True),
            _text("placard", "Placard text", "What the placard says.", optional=True),
        ),
        outputs=(
            _image(
                "mugshot",
                "Mugshot",
                "Front view against a height chart.",
                specified_aspect_ratio="4:5",
            ),
        ),
    ),
    Technique(
        "palette-pull",
        "Palette Pull",
        "Extract color palettes from any image",
        run_cost=0.02,
        duration=2,
        inputs=(_image("image", "Image", "The image to take colors from."),),
        outputs=(
            _image("palette", "Palette", "The palette as swatches.", specified_aspect_ratio="3:2"),
            _text("hex_codes", "Hex codes", "The palette's colors as hex codes."),
        ),
    ),
    Technique(
        "product-animator",
        "Product Animator",
        "Animate your product",
        run_cost=1.20,
        duration=20,
        inputs=(
            _image(
                "product", "Product", "A product shot on a clean background.", accepts_element=True
            ),
            _text("motion", "Motion idea", "How the product should move.", optional=True),
        ),
        outputs=(
            _video(
                "video",
                "Product video",
                "A five-second product animation.",
                specified_aspect_ratio="1:1",
                specified_duration=5,
            ),
        ),
    ),
    Technique(
        "product-lookbook-grid",
        "Product Lookbook Grid",
        "Turn products into styled grid layouts",
        run_cost=0.22,
        duration=10,
        inputs=(
            _image("products", "Products", "One photo per product.", allow_multiple=True),
            _text("theme", "Theme", "For example summer linen.", optional=True),
        ),
        outputs=(
            _image(
                "grid",
                "Lookbook grid",
                "The products styled in a grid.",
                specified_aspect_ratio="1:1",
            ),
        ),
    ),
    Technique(
        "product-motion",
        "Product Motion",
        "Animate product shots in one click",
        run_cost=0.75,
        duration=16,
        inputs=(
            _image("product", "Product shot", "The product shot to animate."),
            _video(
                "motion_reference",
                "Motion reference",
                "A clip whose camera move to copy.",
                optional=True,
            ),
        ),
        outputs=(
            _video(
                "video",
                "Motion clip",
                "A vertical clip for stories and reels.",
                specified_aspect_ratio="9:16",
                specified_duration=4,
            ),
        ),
    ),
    Technique(
        "quick-reframe",
        "Layout Resizer",
        "Resize layouts for any aspect ratio",
        run_cost=0.05,
        duration=4,
        inputs=(
            _image("layout", "Layout", "The design to resize."),
            _text(
                "aspect_ratio",
                "Aspect ratio",
                "The new aspect ratio: " + ", ".join(ASPECT_RATIOS) + ".",
                choices=ASPECT_RATIOS,
            ),
        ),
        outputs=(_image("resized", "Resized layout", "The layout in the new aspect ratio."),),
    ),
    Technique(
        "relight-technique",
        "Relighting",
        "Relights your photo",
        run_cost=0.08,
        duration=5,
        inputs=(
            _image("photo", "Photo", "The photo to relight."),
            _text("lighting", "Lighting", "For example golden hour from the left.", optional=True),
        ),
        outputs=(_image("relit", "Relit photo", "The photo under the new light."),),
    ),
    Technique(
        "room-render",
        "Room Render",
        "Turn floor plans into realistic rooms",
        run_cost=0.45,
        duration=15,
        inputs=(
            _image("floor_plan", "Floor plan", "A drawing or scan of the floor plan."),
            _text("style", "Interior style", "For example Japandi or mid-century."),
        ),
        outputs=(
            _image(
                "render_1", "Living area", "Rendered living area.", specified_aspect_ratio="16:9"
            ),
            _image("render_2", "Kitchen", "Rendered kitchen.", specified_aspect_ratio="16:9"),
            _document("spec_sheet", "Room schedule", "Furniture and finishes, as a PDF."),
        ),
    ),
    Technique(
        "seamless-transition",
        "Seamless Transition",
        "Animate between any two frames",
        run_cost=0.85,
        duration=18,
        inputs=(
            _image("first_frame", "First frame", "Where the transition starts."),
            _image("last_frame", "Last frame", "Where the transition ends."),
            _text(
                "transition", "Transition style", "For example morph or whip pan.", optional=True
            ),
        ),
        outputs=(
            _video(
                "video",
                "Transition",
                "The animated transition between the two frames.",
                specified_aspect_ratio="16:9",
                specified_duration=5,
            ),
        ),
    ),
    Technique(
        "sigil",
        "Sigil",
        "Turns any image into an animated glyph",
        run_cost=0.50,
        duration=12,
        inputs=(_image("image", "Image", "The image to turn into a glyph."),),
        outputs=(
            _image("glyph", "Glyph", "The glyph as a still.", specified_aspect_ratio="1:1"),
            _video(
                "animation",
                "Animated glyph",
                "The glyph, animated.",
                specified_aspect_ratio="1:1",
                specified_duration=3,
            ),
        ),
    ),
    Technique(
        "sketch-to-garment",
        "Garment Sketch",
        "One sketch, one final garment.",
        run_cost=0.11,
        duration=6,
        inputs=(
            _image("sketch", "Sketch", "A fashion sketch of one garment."),
            _text("fabric", "Fabric", "For example raw denim.", optional=True),
        ),
        outputs=(
            _image("garment", "Garment", "The finished garment.", specified_aspect_ratio="3:4"),
        ),
    ),
    Technique(
        "studio-blur",
        "Studio Blur",
        "Add pro depth-of-field blur to photos",
        run_cost=0.03,
        duration=2,
        inputs=(
            _image("photo", "Photo", "The photo to blur."),
            _text("focus", "Keep in focus", "What stays sharp, e.g. the cup.", optional=True),
        ),
        outputs=(_image("blurred", "Blurred photo", "The photo with a shallow depth of field."),),
    ),
    Technique(
        "studio-shot",
        "Studio Shot",
        "Turns any product into a studio-lit shoot",
        run_cost=0.10,
        duration=6,
        inputs=(
            _image("product", "Product", "A casual photo of the product.", accepts_element=True),
            _text("backdrop", "Backdrop", "For example seamless peach paper.", optional=True),
        ),
        outputs=(
            _image("shot", "Studio shot", "The product, studio-lit.", specified_aspect_ratio="1:1"),
        ),
    ),
    Technique(
        "tarot-pull",
        "Tarot Pull",
        "Custom illustrated tarot card readings",
        run_cost=0.06,
        duration=6,
        inputs=(_text("question", "Question", "What you want the cards to answer."),),
        outputs=(
            _image("card", "Card", "The illustrated card you drew.", specified_aspect_ratio="2:3"),
            _text("reading", "Reading", "What the card says about your question."),
        ),
    ),
    Technique(
        "texture-matchers",
        "Texture Match",
        "Replicate textures & colors across assets",
        run_cost=0.13,
        duration=7,
        brand_only=True,
        inputs=(
            _image("texture", "Texture reference", "The texture and colors to replicate."),
            _image("assets", "Assets", "The assets to restyle.", allow_multiple=True),
        ),
        outputs=(_image("matched", "Matched asset", "The assets in the reference texture."),),
    ),
    Technique(
        "turn-any-product-into-4-ad-visuals",
        "Turn any product into 4 ad visuals",
        "Make a full ad campaign from 1 product",
        run_cost=0.60,
        duration=16,
        inputs=(
            _image("product", "Product", "One product photo.", accepts_element=True),
            _text("brand", "Brand name", "The brand the ads are for."),
            _text("tagline", "Tagline", "A line to feature in the ads.", optional=True),
        ),
        outputs=(
            _image("ad_square", "Feed ad", "For feeds.", specified_aspect_ratio="1:1"),
            _image(
                "ad_portrait",
                "Portrait ad",
                "For portrait placements.",
                specified_aspect_ratio="4:5",
            ),
            _image("ad_story", "Story ad", "For stories.", specified_aspect_ratio="9:16"),
            _image("ad_banner", "Banner ad", "For banners.", specified_aspect_ratio="16:9"),
        ),
    ),
    Technique(
        "ugc-creation",
        "UGC Creator",
        "Casual, phone-shot clips of your product",
        run_cost=1.50,
        duration=20,
        inputs=(
            _image("product", "Product", "A photo of the product."),
            _text("script", "Script", "What the creator says about the product."),
            _audio(
                "voiceover",
                "Voiceover",
                "A recorded voiceover to use instead of a generated voice.",
                optional=True,
            ),
        ),
        outputs=(
            _video(
                "clip",
                "UGC clip",
                "A phone-shot style clip.",
                specified_aspect_ratio="9:16",
                specified_duration=8,
            ),
            _audio("voice", "Voice track", "The clip's voice track on its own."),
        ),
    ),
    Technique(
        "video-scene-builder",
        "Video Scene Builder",
        "Compose video scenes from still assets",
        run_cost=1.10,
        duration=20,
        inputs=(
            _image("assets", "Still assets", "The stills to compose.", allow_multiple=True),
            _text("direction", "Direction", "How the scene plays out."),
            _video(
                "reference_clip", "Reference clip", "A clip to match the pacing of.", optional=True
            ),
            _audio("music", "Music bed", "Music to cut the scene to.", optional=True),
        ),
        outputs=(
            _video(
                "scene",
                "Scene",
                "The composed scene.",
                specified_aspect_ratio="16:9",
                specified_duration=6,
            ),
            _audio("soundtrack", "Soundtrack", "The scene's soundtrack."),
        ),
    ),
    Technique(
        "wireframe",
        "Photo Wireframe",
        "Turn any photo into a clean wireframe",
        run_cost=0.04,
        duration=3,
        inputs=(_image("photo", "Photo", "The photo to trace."),),
        outputs=(_image("wireframe", "Wireframe", "Clean line drawing of the photo."),),
    ),
    Technique(
        "wonder-fy",
        "Wonder(fy)",
        "Apply Wonder's cinematic style to images",
        run_cost=0.25,
        duration=9,
        brand_only=True,
        inputs=(
            _image("image", "Image", "The image to restyle."),
            _text(
                "intensity",
                "Intensity",
                "low, medium or high.",
                optional=True,
                choices=("low", "medium", "high"),
            ),
        ),
        outputs=(
            _image(
                "styled",
                "Styled image",
                "The image in Wonder's style.",
                specified_aspect_ratio="16:9",
            ),
        ),
    ),
)

_BY_SLUG: dict[str, Technique] = {technique.slug: technique for technique in TECHNIQUES}


def find(technique_id: str) -> Technique | None:
    """A technique by id (`tech_cctv-cam`) or slug (`cctv-cam`), whoever can see it."""
    return _BY_SLUG.get(technique_id.removeprefix("tech_"))


def visible(workspaces: Iterable[Workspace]) -> list[Technique]:
    """Techniques these workspaces can see, in id order (the seed's order)."""
    has_brand = any(workspace.has_brand_techniques for workspace in workspaces)
    return [t for t in TECHNIQUES if has_brand or not t.brand_only]


def in_workspace(technique: Technique, workspace: Workspace) -> bool:
    return workspace.has_brand_techniques or not technique.brand_only
