"""Write the demo tables from the copies bundled with scikit-learn (no download).

breast_cancer.csv: Wisconsin diagnostic breast cancer, 569 tumours x 30 nucleus features;
  column ``diagnosis`` is malignant or benign, ``sample`` numbers the rows.
diabetes.csv: 442 patients, 10 baseline variables in their original units (scaled=False);
  column ``progression`` is the disease progression one year later (regression target).

Run from the repository root: python resources/tables/make_tables.py
"""

from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_diabetes

HERE = Path(__file__).resolve().parent

cancer = load_breast_cancer(as_frame=True)
frame = cancer.data.copy()
frame.insert(0, "sample", [f"tumour_{i + 1:03d}" for i in range(len(frame))])
frame["diagnosis"] = cancer.target.map(dict(enumerate(cancer.target_names)))
frame.to_csv(HERE / "breast_cancer.csv", index=False, float_format="%.6g")

diabetes = load_diabetes(as_frame=True, scaled=False)
frame = diabetes.data.copy()
frame.insert(0, "patient", [f"patient_{i + 1:03d}" for i in range(len(frame))])
frame["sex"] = frame["sex"].map({1.0: "sex_1", 2.0: "sex_2"})
frame["progression"] = diabetes.target
frame.to_csv(HERE / "diabetes.csv", index=False, float_format="%.6g")
