import SurgeonCLI

// The `surgeon` binary: the commands of SurgeonCLI with the built-in registries. A package that
// extends surgeon writes the same lines with its own `Registries` (README, "Extending surgeon").
SurgeonCommand.main(registries: .standard)
