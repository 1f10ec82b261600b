"""DNA: FASTA and BED readers (``fasta``, ``bed``), one-hot encoding (``encode``), windows around
regions (``windows``), background sequences (``background``) and the preparation step
(``prepare``).
"""
