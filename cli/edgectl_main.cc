#include "cli/edgectl.h"

int main(int argc, char** argv) { return edge::cli::RunEdgectl(argc, argv); }
