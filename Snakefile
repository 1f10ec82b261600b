from snakemake.utils import min_version

min_version("9.0")


# The demo's config is the default of a bare `snakemake`; `--configfile my.yaml` runs exactly
# my.yaml (Snakemake would otherwise merge it into the demo's and run both). As a module, the
# host workflow passes its own config and this directive is skipped.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


# One path component each. Which datasets or models a rule takes (a modality's, a kind's, a
# role's) is constrained by that rule (patterns in common.smk): Snakemake copies constraints into
# every output pattern and rescans them for each job, so a global list of every name would cost
# each job time in proportion to the size of the config.
wildcard_constraints:
    dataset="[^/]+",
    model="[^/]+",


include: "workflow/rules/prepare.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/interpret.smk"
include: "workflow/rules/ensembles.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/apply.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
        apply_outputs(),
