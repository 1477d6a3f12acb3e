"""What every emulated region offers: regions, zones, instance types and public images."""

from __future__ import annotations

from dataclasses import dataclass

# Region -> (display name, zone numbers). Zone ids follow the real scheme (100000 + n for
# Guangzhou, 200000 + n for Shanghai...); only the shape matters to clients.
REGIONS: dict[str, tuple[str, tuple[int, ...]]] = {
    "ap-bangkok": ("Southeast Asia(Bangkok)", (1, 2)),
    "ap-beijing": ("North China(Beijing)", (3, 5, 6, 7)),
    "ap-chengdu": ("Southwest China(Chengdu)", (1, 2)),
    "ap-chongqing": ("Southwest China(Chongqing)", (1,)),
    "ap-guangzhou": ("South China(Guangzhou)", (3, 4, 6, 7)),
    "ap-guangzhou-open": ("South China(Guangzhou OPEN)", (1, 2)),
    "ap-hongkong": ("Hong Kong, Macau and Taiwan (China)(Hong Kong, China)", (2, 3)),
    "ap-jakarta": ("Southeast Asia(Jakarta)", (1, 2)),
    "ap-mumbai": ("South Asia(Mumbai)", (1, 2)),
    "ap-nanjing": ("East China(Nanjing)", (1, 2, 3)),
    "ap-seoul": ("Northeast Asia(Seoul)", (1, 2)),
    "ap-shanghai": ("East China(Shanghai)", (2, 3, 4, 5, 8)),
    "ap-shanghai-fsi": ("East China(Shanghai Finance)", (1, 2)),
    "ap-shenzhen-fsi": ("South China(Shenzhen Finance)", (1, 2)),
    "ap-singapore": ("Southeast Asia(Singapore)", (1, 2, 3, 4)),
    "ap-tokyo": ("Northeast Asia(Tokyo)", (1, 2)),
    "eu-frankfurt": ("Europe(Frankfurt)", (1, 2)),
    "eu-moscow": ("Europe(Northeastern Europe)", (1,)),
    "na-ashburn": ("US East(Virginia)", (1, 2)),
    "na-siliconvalley": ("US West(Silicon Valley)", (1, 2)),
    "na-toronto": ("North America(Toronto)", (1,)),
    "sa-saopaulo": ("South America(São Paulo)", (1,)),
}


def zones(region: str) -> list[dict[str, str]]:
    """The ``ZoneSet`` of ``region``."""
    name, numbers = REGIONS[region]
    index = list(REGIONS).index(region) + 1
    city = name.rsplit("(", 1)[-1].rstrip(")")
    return [
        {
            "Zone": f"{region}-{n}",
            "ZoneName": f"{city} Zone {n}",
            "ZoneId": str(index * 100000 + n),
            "ZoneState": "AVAILABLE",
        }
        for n in numbers
    ]


@dataclass(frozen=True)
class InstanceType:
    """One entry of DescribeInstanceTypeConfigs (offered in every zone)."""

    name: str
    cpu: int
    memory: int

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]


INSTANCE_TYPES = tuple(
    InstanceType(name, cpu, mem)
    for name, cpu, mem in (
        ("S1.SMALL1", 1, 1),
        ("S2.SMALL1", 1, 1),  # the seed template's type
        ("S5.SMALL1", 1, 1),
        ("S5.SMALL2", 1, 2),
        ("S5.SMALL4", 1, 4),
        ("S5.MEDIUM2", 2, 2),
        ("S5.MEDIUM4", 2, 4),
        ("S5.MEDIUM8", 2, 8),
        ("S5.LARGE8", 4, 8),
        ("S5.LARGE16", 4, 16),
        ("SA2.MEDIUM2", 2, 2),
        ("SA2.MEDIUM4", 2, 4),
        ("SA2.LARGE8", 4, 8),
        ("S6.MEDIUM4", 2, 4),
        ("S6.LARGE8", 4, 8),
    )
)
INSTANCE_TYPE_BY_NAME = {t.name: t for t in INSTANCE_TYPES}
DEFAULT_INSTANCE_TYPE = "S1.SMALL1"


@dataclass(frozen=True)
class PublicImage:
    """A public image listed in every region. ``suite`` names the Debian base that backs it;
    without one (and without a root configured for it) instances cannot be launched from it."""

    image_id: str
    name: str
    os_name: str
    platform: str
    size: int
    suite: str | None = None


DEBIAN_12_IMAGE_ID = "img-eb30mz89"

PUBLIC_IMAGES = (
    PublicImage(
        DEBIAN_12_IMAGE_ID,
        "Debian Server 12.0 64bit",
        "Debian Server 12.0 64bit",
        "Debian",
        20,
        "bookworm",
    ),
    PublicImage("img-9qabwvbn", "CentOS 7.6 64bit", "CentOS 7.6 64bit", "CentOS", 50),
    PublicImage("img-l8og963d", "CentOS 7.9 64bit", "CentOS 7.9 64bit", "CentOS", 20),
    PublicImage(
        "img-487zeit5",
        "Ubuntu Server 22.04 LTS 64bit",
        "Ubuntu Server 22.04 LTS 64bit",
        "Ubuntu",
        20,
    ),
    PublicImage(
        "img-9id7emv7",
        "TencentOS Server 3.1 (TK4)",
        "TencentOS Server 3.1 (TK4)",
        "TencentOS",
        20,
    ),
)
