"""Remote signing (远程面签): schedules, slots and appointments."""
