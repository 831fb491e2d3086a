/** A consumer of finetune4j on the module path, naming its modules by their stable names. */
module com.example.modulepath {
    requires dev.finetune4j.core;
    requires dev.finetune4j.peft;
}
