# Rig descriptions and procedures' documents, shipped with the host package
# as lunasample.test_rigs so an installed wheel finds them.
